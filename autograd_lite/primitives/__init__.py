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
from .elementwise import (abs, add, clip, cos, divide, exp, expm1, log, log1p, maximum, minimum,
                          multiply, negative, power, relu, sigmoid, sin, sqrt, subtract, tanh)
from .linalg import matmul
from .losses import softmax_cross_entropy
from .recurrent import lstm_cell
from .reductions import logsumexp, max, min, sum
from .shape import (astype, broadcast_to, concatenate, getitem, reshape, stack, transpose,
                    untake, where)
from .special import erf
