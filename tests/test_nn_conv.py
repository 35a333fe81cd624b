"""Convolution and pooling as PyTorch users call them: ag.conv1d/conv2d, the pooling
functions and nn's layers, against definitions written as loops (tests/oracles.py),
finite differences, and the documented names, shapes and initialisation."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import autograd_lite as ag
import nn
from oracles import assert_close, conv_reference, pool_reference

RNG = np.random.default_rng(3)


def _pairs(padding, nd):
    return ((padding, padding),) * nd if isinstance(padding, int) else tuple((p, p) for p in padding)


CONV2D_CASES = [  # x shape, weight shape, options
    ((2, 3, 6, 5), (4, 3, 3, 3), dict()),
    ((2, 3, 6, 5), (4, 3, 3, 2), dict(stride=2, padding=1)),
    ((1, 4, 7, 7), (6, 2, 3, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)),
    ((2, 4, 5, 6), (4, 1, 2, 2), dict(groups=4)),  # depthwise
]


@pytest.mark.parametrize("x_shape,w_shape,options", CONV2D_CASES)
def test_conv2d_matches_the_loop_definition_with_bias(x_shape, w_shape, options):
    x, w, b = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape), RNG.standard_normal(w_shape[0])
    reference = conv_reference(x, w, _stride(options, 2), _pairs(options.get("padding", 0), 2),
                               _dilation(options, 2), options.get("groups", 1))
    assert_close(ag.conv2d(x, w, b, **options).data, reference + b[:, None, None], rtol=1e-12)


def _stride(options, nd):
    s = options.get("stride", 1)
    return (s,) * nd if isinstance(s, int) else s


def _dilation(options, nd):
    d = options.get("dilation", 1)
    return (d,) * nd if isinstance(d, int) else d


@pytest.mark.parametrize("kernel,dilation", [((3, 3), 1), ((2, 4), 1), ((2, 3), (2, 1))])
def test_same_padding_keeps_the_size_and_puts_the_odd_element_after(kernel, dilation):
    x, w = RNG.standard_normal((1, 2, 5, 6)), RNG.standard_normal((3, 2) + kernel)
    y = ag.conv2d(x, w, padding="same", dilation=dilation).data
    assert y.shape == (1, 3, 5, 6)
    d = (dilation,) * 2 if isinstance(dilation, int) else dilation
    totals = [di * (k - 1) for k, di in zip(kernel, d)]
    pads = tuple((t // 2, t - t // 2) for t in totals)
    assert_close(y, conv_reference(x, w, (1, 1), pads, d), rtol=1e-12)
    assert_close(ag.conv2d(x, w, padding="valid").data, conv_reference(x, w, (1, 1), ((0, 0),) * 2, (1, 1)))


def test_conv1d_and_unbatched_inputs():
    x, w, b = RNG.standard_normal((2, 3, 9)), RNG.standard_normal((4, 3, 3)), RNG.standard_normal(4)
    reference = conv_reference(x, w, (2,), ((1, 1),), (1,)) + b[:, None]
    assert_close(ag.conv1d(x, w, b, stride=2, padding=1).data, reference, rtol=1e-12)
    assert_close(ag.conv1d(x[0], w, b, stride=2, padding=1).data, reference[0], rtol=1e-12)
    x2, w2 = RNG.standard_normal((3, 5, 5)), RNG.standard_normal((2, 3, 3, 3))
    assert ag.conv2d(x2, w2).shape == (2, 3, 3)


def test_conv2d_gradients_and_second_order():
    x, w, b = RNG.standard_normal((2, 2, 5, 4)), RNG.standard_normal((4, 1, 2, 3)), RNG.standard_normal(4)

    def f(x, w, b):
        return ag.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)

    assert ag.gradcheck(f, x, w, b)
    assert ag.gradgradcheck(f, x, w, b)
    assert ag.gradgradcheck(lambda x, w: ag.tanh(ag.conv2d(x, w, padding="same", groups=2)), x, w)


def test_conv_bias_gradient_is_the_sum_over_batch_and_positions():
    x, w = ag.tensor(RNG.standard_normal((3, 2, 4, 4))), RNG.standard_normal((5, 2, 3, 3))
    b = ag.tensor(np.zeros(5), requires_grad=True)
    g = RNG.standard_normal((3, 5, 2, 2))
    (ag.conv2d(x, w, b) * g).sum().backward()
    assert_close(b.grad, g.sum(axis=(0, 2, 3)))


@pytest.mark.parametrize("call,message", [
    (lambda: ag.conv2d(np.ones((1, 3, 4, 4)), np.ones((2, 2, 3, 3))), "input has 3 channels"),
    (lambda: ag.conv2d(np.ones((1, 4, 4, 4)), np.ones((3, 2, 3, 3)), groups=2), "groups=2 must divide"),
    (lambda: ag.conv2d(np.ones((1, 2, 2, 2)), np.ones((1, 2, 3, 3))), "smaller than the kernel"),
    (lambda: ag.conv2d(np.ones((1, 2, 5, 5)), np.ones((1, 2, 3, 3)), stride=2, padding="same"),
     "needs stride 1"),
    (lambda: ag.conv2d(np.ones((2, 5, 5)), np.ones((1, 2, 3))), "weight must be"),
    (lambda: ag.conv2d(np.ones(5), np.ones((1, 1, 3, 3))), r"input must be \(N, C, H, W\)"),
    (lambda: ag.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), padding="full"), "padding must be"),
])
def test_functional_errors_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- the layers ------------------------------------------------------------------------------
def test_conv2d_layer_state_dict_matches_pytorchs_names_and_shapes():
    layer = nn.Conv2d(3, 16, 3)
    assert {k: v.shape for k, v in layer.state_dict().items()} == {"weight": (16, 3, 3, 3), "bias": (16,)}
    grouped = nn.Conv2d(4, 6, (2, 3), groups=2, bias=False)
    assert {k: v.shape for k, v in grouped.state_dict().items()} == {"weight": (6, 2, 2, 3)}
    assert {k: v.shape for k, v in nn.Conv1d(2, 5, 4).state_dict().items()} == {"weight": (5, 2, 4), "bias": (5,)}


def test_conv_layer_initialisation_is_pytorchs_drawn_weight_then_bias():
    layer = nn.Conv2d(4, 6, 3, groups=2, rng=np.random.default_rng(5))
    source = np.random.default_rng(5)
    bound = 1 / math.sqrt(2 * 9)  # fan_in = in_channels / groups * kernel
    assert_close(layer.weight.data, source.uniform(-bound, bound, (6, 2, 3, 3)))
    assert_close(layer.bias.data, source.uniform(-bound, bound, 6))
    assert np.abs(nn.Conv2d(3, 64, 5).weight.data).max() <= 1 / math.sqrt(75)
    assert nn.Conv2d(1, 2, 3, dtype=np.float32).weight.dtype == np.float32


def test_conv_layer_computes_ag_conv2d_with_its_parameters():
    layer = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    x = RNG.standard_normal((2, 3, 7, 7))
    assert_close(layer(x).data, ag.conv2d(x, layer.weight.data, layer.bias.data, 2, 1).data)
    layer = nn.Conv2d(2, 2, 3, padding="same")
    assert layer(RNG.standard_normal((1, 2, 5, 4))).shape == (1, 2, 5, 4)


def test_conv_layer_errors_name_the_layer():
    layer = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=re.escape(
            "Conv2d(in_channels=3): input has 4 channels (shape (8, 4, 32, 32))")):
        layer(np.zeros((8, 4, 32, 32)))
    with pytest.raises(ValueError, match=re.escape("Conv2d(in_channels=3): input must be")):
        layer(np.zeros((8, 3)))
    with pytest.raises(ValueError, match=re.escape("Conv2d(in_channels=3)") + ".*smaller than the kernel"):
        layer(np.zeros((1, 3, 2, 2)))
    with pytest.raises(ValueError, match="Conv1d: padding='same' needs stride 1"):
        nn.Conv1d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="groups=3 must divide"):
        nn.Conv2d(4, 6, 3, groups=3)


def test_conv_layer_trains_in_float32():
    layer = nn.Conv2d(1, 2, 3, dtype=np.float32)
    y = layer(np.ones((1, 1, 4, 4), np.float32))
    assert y.dtype == np.float32
    y.sum().backward()
    assert layer.weight.grad.dtype == np.float32


POOL_CASES = [((2, 3, 6, 6), 2, None, 0), ((2, 2, 7, 5), 3, 2, 1), ((1, 2, 5, 6), (2, 3), (1, 2), (1, 0))]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("shape,kernel,stride,padding", POOL_CASES)
def test_pooling_functions_and_layers_match_the_definition(kind, shape, kernel, stride, padding):
    x = RNG.standard_normal(shape)
    k = (kernel,) * 2 if isinstance(kernel, int) else kernel
    s = k if stride is None else ((stride,) * 2 if isinstance(stride, int) else stride)
    p = (padding,) * 2 if isinstance(padding, int) else padding
    reference = pool_reference(x, kind, k, s, p)
    function = ag.max_pool2d if kind == "max" else ag.avg_pool2d
    layer = (nn.MaxPool2d if kind == "max" else nn.AvgPool2d)(kernel, stride, padding)
    assert_close(function(x, kernel, stride, padding).data, reference, rtol=1e-12)
    assert_close(layer(x).data, reference, rtol=1e-12)
    assert ag.gradcheck(lambda x: function(x, kernel, stride, padding), x)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_1d_pooling(kind):
    x = RNG.standard_normal((2, 3, 9))
    function = ag.max_pool1d if kind == "max" else ag.avg_pool1d
    layer = (nn.MaxPool1d if kind == "max" else nn.AvgPool1d)(3, 2, 1)
    reference = pool_reference(x, kind, (3,), (2,), (1,))
    assert_close(function(x, 3, 2, 1).data, reference, rtol=1e-12)
    assert_close(layer(x).data, reference, rtol=1e-12)
    assert_close(layer(x[0]).data, reference[0], rtol=1e-12)  # unbatched


def test_max_pooling_gradient_goes_to_the_first_maximum_of_a_tied_window():
    # Flat regions (a digit's background through a conv) tie exactly: PyTorch's choice.
    x = ag.tensor(np.array([[[[2.0, 2.0, 0.0, 1.0], [2.0, 1.0, 1.0, 1.0]]]]), requires_grad=True)
    ag.max_pool2d(x, 2).sum().backward()
    assert_close(x.grad, [[[[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_pooling_second_order():
    x = RNG.standard_normal((1, 2, 5, 5))
    assert ag.gradgradcheck(lambda x: ag.max_pool2d(x, 3, 2, 1) ** 2, x)
    assert ag.gradgradcheck(lambda x: ag.avg_pool2d(x, 2, 1) ** 2, x)


@pytest.mark.parametrize("output_size", [1, (2, 3), (None, 2), (5, 4), (3, 2)])
def test_adaptive_avg_pool2d_averages_pytorchs_bins(output_size):
    x = RNG.standard_normal((2, 3, 5, 4))
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
    oh, ow = oh or 5, ow or 4
    expected = np.empty((2, 3, oh, ow))
    for i in range(oh):
        for j in range(ow):  # bin i spans floor(i H / oH) .. ceil((i + 1) H / oH)
            rows = slice(i * 5 // oh, -(-(i + 1) * 5 // oh))
            cols = slice(j * 4 // ow, -(-(j + 1) * 4 // ow))
            expected[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    assert_close(nn.AdaptiveAvgPool2d(output_size)(x).data, expected, rtol=1e-12)
    assert ag.gradcheck(lambda x: ag.adaptive_avg_pool2d(x, output_size), x)


def test_pooling_errors_name_the_layer():
    with pytest.raises(ValueError, match=re.escape("MaxPool2d(kernel_size=(2, 2)): input must be")):
        nn.MaxPool2d(2)(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="at most half the kernel"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match=re.escape("AvgPool2d(kernel_size=(3, 3))") + ".*smaller"):
        nn.AvgPool2d(3)(np.zeros((1, 1, 2, 2)))


def test_a_small_cnn_learns_and_its_gradients_pass_gradcheck():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, rng=np.random.default_rng(0)), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 2, rng=np.random.default_rng(1)))
    x = RNG.standard_normal((4, 1, 4, 4))
    assert ag.gradcheck(lambda x: model(x), x)
    y = np.array([0, 1, 0, 1])
    x[y == 1] += 1.0
    optimizer = nn.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = nn.CrossEntropyLoss()(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_the_readme_layers_example_runs_as_written():
    from oracles import readme_block
    namespace = {}
    exec(compile(readme_block("### Convolution, normalisation, embeddings, recurrence"),
                 "README.md", "exec"), namespace)
    assert namespace["logits"].shape == (64, 10)
    assert namespace["out"].shape == (4, 7, 32)
    assert namespace["h"].shape == namespace["c"].shape == (1, 4, 32)
    assert dict(namespace["lstm"].named_parameters())["weight_ih_l0"].shape == (128, 16)
