"""Benchmarks of autograd_lite against hand-written NumPy, PyTorch, HIPS autograd, MyGrad
and micrograd (issue 7). Run ``python -m bench --help``; see README.md here.
"""
