"""Tests for the translation data: synthetic task, parallel-text files, vocabulary and token tensors."""

import numpy as np
import pytest
import torch

from lscape.data import load_dataset
from lscape.translation import (
    BOS,
    EOS,
    IGNORE_INDEX,
    PAD,
    UNK,
    Vocabulary,
    read_parallel_text,
    synthetic_pairs,
    token_mixup_inputs,
    token_noise_inputs,
    tokenize,
)


def test_synthetic_pairs_fixed():
    assert synthetic_pairs(50, seed=0) == synthetic_pairs(50, seed=0)
    assert synthetic_pairs(50, seed=0) != synthetic_pairs(50, seed=1)


def test_synthetic_translation_is_a_function_of_the_source():
    translations = {}
    for source, target in synthetic_pairs(2000, seed=0):
        translations.setdefault(tuple(source), tuple(target))
        assert translations[tuple(source)] == tuple(target)


def test_synthetic_word_order_moves_verb_last():
    pairs = synthetic_pairs(500, seed=0)
    verb_translations = set()
    for source, target in pairs:
        verb_translations.add(target[-1])
    assert len(verb_translations) == 9  # one target verb per source verb, always last


def test_synthetic_split_and_tensors():
    data = load_dataset("synthetic_translation")
    src_len = data.model_options["src_len"]
    assert len(data.X_train) == 4000
    assert len(data.X_test) == 1000
    assert data.is_translation
    assert data.X_train.dtype == torch.int64
    assert data.y_train.shape == (4000, data.X_train.shape[1] - src_len)
    decoder_input = data.X_train[:, src_len:]
    assert (decoder_input[:, 0] == BOS).all()
    words = (data.y_train != IGNORE_INDEX) & (data.y_train != EOS)
    # The decoder input is the target shifted right by one position.
    assert torch.equal(decoder_input[:, 1:][words[:, :-1]], data.y_train[:, :-1][words[:, :-1]])
    assert ((data.y_train == EOS).sum(dim=1) == 1).all()


def test_translation_subsample_seeded():
    first = load_dataset("synthetic_translation", train_size=100, seed=0)
    again = load_dataset("synthetic_translation", train_size=100, seed=0)
    other = load_dataset("synthetic_translation", train_size=100, seed=1)
    assert len(first.X_train) == 100
    assert torch.equal(first.X_train, again.X_train)
    assert not torch.equal(first.X_train, other.X_train)


def test_tokenize_lowercases_and_splits_punctuation():
    assert tokenize("Das ist gut, oder?") == ["das", "ist", "gut", ",", "oder", "?"]


def test_vocabulary_ranks_by_frequency_and_maps_unknown():
    vocabulary = Vocabulary.build([["b", "a", "b"], ["c", "b", "a"]], max_size=2)
    assert vocabulary.words[4:] == ("b", "a")
    assert vocabulary.encode(["a", "zzz"]) == [5, UNK]
    assert vocabulary.decode([4, 5, EOS, 4]) == ["b", "a"]


@pytest.fixture
def iwslt_dir(tmp_path):
    folder = tmp_path / "iwslt16-de-en"
    folder.mkdir()
    german = ["Ich sehe das Haus .", "Das Haus ist rot .", "Wir gehen nach Hause ."] * 10
    english = ["I see the house .", "The house is red .", "We go home ."] * 10
    (folder / "train.de").write_text("\n".join(german) + "\n", encoding="utf-8")
    (folder / "train.en").write_text("\n".join(english) + "\n", encoding="utf-8")
    (folder / "test.de").write_text("Das Haus .\nIch gehe .\n", encoding="utf-8")
    (folder / "test.en").write_text("The house .\nI go .\n", encoding="utf-8")
    return tmp_path


def test_iwslt_reads_parallel_files(iwslt_dir):
    data = load_dataset("iwslt16_de_en", data_dir=iwslt_dir, train_size=20, seed=0)
    source_vocabulary = data.info["source_vocabulary"]
    target_vocabulary = data.info["target_vocabulary"]
    src_len = data.model_options["src_len"]
    assert len(data.X_train) == 20
    assert len(data.X_test) == 2
    assert data.model_options["src_vocab"] == len(source_vocabulary)
    assert data.num_classes == len(target_vocabulary)
    assert source_vocabulary.decode(data.X_test[0, :src_len]) == ["das", "haus", "."]
    assert target_vocabulary.decode(data.y_test[0]) == ["the", "house", "."]
    assert "gehe" not in source_vocabulary.words  # test-only word
    assert UNK in data.X_test[1, :src_len].tolist()


def test_parallel_files_of_different_length_rejected(tmp_path):
    (tmp_path / "a.de").write_text("eins\nzwei\n")
    (tmp_path / "a.en").write_text("one\n")
    with pytest.raises(ValueError, match=r"same number of lines"):
        read_parallel_text(tmp_path / "a.de", tmp_path / "a.en")


def test_long_and_empty_pairs_dropped(tmp_path):
    (tmp_path / "a.de").write_text("kurz\n" + "wort " * 60 + "\n\n")
    (tmp_path / "a.en").write_text("short\nword\nempty\n")
    assert read_parallel_text(tmp_path / "a.de", tmp_path / "a.en") == [(["kurz"], ["short"])]


def test_token_mixup_keeps_padding_and_decoder_input():
    data = load_dataset("synthetic_translation")
    src_len = data.model_options["src_len"]
    mixed = token_mixup_inputs(data.X_train, src_len, num_samples=200, alpha=1.0, seed=0)
    first = torch.from_numpy(np.random.default_rng(0).integers(0, len(data.X_train), 200))
    assert torch.equal(mixed[:, src_len:], data.X_train[first][:, src_len:])
    assert torch.equal(mixed[:, :src_len] == PAD, data.X_train[first][:, :src_len] == PAD)
    changed = (mixed[:, :src_len] != data.X_train[first][:, :src_len]).float().mean()
    assert 0.1 < changed < 0.6


def test_token_noise_fraction():
    data = load_dataset("synthetic_translation")
    src_len = data.model_options["src_len"]
    noisy = token_noise_inputs(data.X_train, src_len, data.model_options["src_vocab"], 500, fraction=0.3, seed=0)
    index = torch.from_numpy(np.random.default_rng(0).integers(0, len(data.X_train), 500))
    original = data.X_train[index][:, :src_len]
    words = (original != PAD) & (original != EOS)
    changed = (noisy[:, :src_len] != original)[words].float().mean()
    assert 0.2 < changed < 0.3  # replaced 30%, some by the same word
    assert int(noisy[:, :src_len].max()) < data.model_options["src_vocab"]
