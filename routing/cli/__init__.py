"""`python -m routing ...`: main.py, the argparse tree (parser.py), one module per command group."""
