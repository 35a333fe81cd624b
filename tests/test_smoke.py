import numpy as np

import autograd_lite as ag


def test_square_sum_gradient_is_twice_the_input():
    w = ag.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad, [2.0, -4.0, 6.0])
