"""Optimizers updating parameters exactly as ``torch.optim``'s do.

    optimizer = nn.optim.AdamW([{"params": body.parameters()},
                                {"params": head.parameters(), "lr": 1e-2}], lr=1e-3)
"""
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD"]
