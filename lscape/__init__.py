"""lscape: measure neural-network loss landscapes over load and temperature and sort them into phases."""

__version__ = "0.1.0"
