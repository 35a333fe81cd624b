"""The derivative table: every differentiable primitive, once, grouped by kind.

Each entry is ``name = primitive(forward).defvjp(vjp_for_arg0, vjp_for_arg1, ...)``,
the public API for your own operations (``ag.primitive``).  A rule
``vjp(g, ans, *args, **kwargs)`` returns the gradient of one argument given the
output gradient ``g``; ``ans`` is the forward result.  Rules are written with NumPy
calls and operators only, so they run on arrays in a plain backward pass and on
Tensors (recording, hence differentiable again) under ``create_graph``.  A rule may
return a gradient broadcast-compatible with its argument: the engine sums it over
broadcast axes or stretches it to the argument's shape (``unbroadcast``).

Conventions at kinks are stated beside their rules.
"""
from .conv import (avg_pool, avg_pool_backward, conv, conv_input_grad, conv_weight_grad,
                   max_pool, max_pool_gather, max_pool_scatter)
from .elementwise import (abs, add, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh,
                          cbrt, ceil, clip, cos, cosh, divide, elu, exp, exp2, expm1, floor, floor_divide,
                          fmod, hardtanh, hypot, leaky_relu, log, log1p, log2, log10, logaddexp, logaddexp2,
                          maximum, minimum, multiply, nan_to_num, negative, not_nan, power, relu,
                          remainder, rint, round, sigmoid, sign, sin, sinh, softplus, sqrt, subtract,
                          tan, tanh, trunc)
from .linalg import (cholesky, det, eigh, einsum, inv, matmul, pinv, qr, slogdet, solve, svd,
                     tensordot)
from .losses import softmax_cross_entropy
from .recurrent import lstm_cell, lstm_sequence
from .reductions import cumprod, cumsum, logsumexp, max, min, norm, prod, sum
from .shape import (PAD_COPYING_MODES, along_axis_key, astype, broadcast_to, concatenate, getitem,
                    pad, reshape, sliding_window_view, sort, stack, transpose, untake, unwindow,
                    where)
from .special import erf
