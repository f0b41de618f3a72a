"""lenet's version, in one place: the package, its build (pyproject.toml) and its download
requests read it from here."""

__version__ = "0.1.0"
