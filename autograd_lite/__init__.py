"""autograd_lite: reverse-mode automatic differentiation on NumPy.

    import autograd_lite as ag
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()          # w.grad == [2., 4.]
"""
from .engine import (enable_grad, is_grad_enabled, name_scope, no_grad, set_grad_enabled,
                     unbroadcast)
from .node import Node
from .tensor import HookHandle, Tensor, retain_grads, tensor, unwrap
from .recording import Primitive, primitive
from .functions import (abs, add, amax, amin, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh,
                        array_split, atleast_1d, atleast_2d, atleast_3d, average, broadcast_to,
                        cbrt, ceil, clip, column_stack, concatenate, cos, cosh, cumprod, cumsum, diag,
                        diagonal, diff, divide, dot, dsplit, dstack, einsum, exp, exp2, expand_dims,
                        expm1, flatten, flip, fliplr, flipud, floor, floor_divide, fmod, hsplit,
                        hstack, hypot, inner, kron, log, log1p, log2, log10, log_softmax, logaddexp,
                        logaddexp2, logsumexp, matmul, max, maximum, mean, min, minimum, mod,
                        moveaxis, multiply, nan_to_num, nanmean, nanstd, nansum, nanvar, negative, outer, pad,
                        power, prod, ptp, ravel, reciprocal, relu, remainder, repeat, reshape,
                        rint, roll, rot90, round, sigmoid, sign, sin, sinh, sliding_window_view,
                        softmax, softmax_cross_entropy, sort, split, sqrt, square, squeeze, stack,
                        std, subtract, sum, swapaxes, take, take_along_axis, tan, tanh, tensordot,
                        tile, trace, transpose, tril, triu, trunc, var, vsplit, vstack, where)
from . import linalg
from .activations import elu, erf, gelu, hardtanh, leaky_relu, mish, silu, softplus
from .convolution import (adaptive_avg_pool2d, avg_pool1d, avg_pool2d, conv1d, conv2d, max_pool1d,
                          max_pool2d)
from .recurrent import lstm_cell, lstm_sequence
from .numpy_protocol import supported_numpy as _supported_numpy
from .tree import TreeDef, tree_flatten, tree_leaves, tree_map, tree_unflatten
from .functional import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .listing import Tape, TapeEntry, tape
from .viz import GraphvizNotInstalled, draw_graph, render
from .anomaly import detect_anomaly
from .compiled import CompiledGrad, FrozenValueWarning, TraceMismatchError, compile_grad
from .export import ExportError, export_onnx

SUPPORTED_NUMPY = _supported_numpy()  # every table entry has registered itself by now

__version__ = "0.1.0"
