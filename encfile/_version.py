__version__ = "0.1.0"
DISTRIBUTION = "encfile-sops"  # the name on PyPI: "encfile" there is another project
SOPS_VERSION = "3.11.0"  # the sops release whose behaviour encfile follows
