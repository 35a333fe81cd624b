"""Optimizers updating parameters exactly as ``torch.optim``'s do, and learning-rate schedulers.

    optimizer = nn.optim.AdamW([{"params": body.parameters()},
                                {"params": head.parameters(), "lr": 1e-2}], lr=1e-3)
    scheduler = nn.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=100)
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
