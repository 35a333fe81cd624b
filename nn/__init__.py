"""nn: modules, layers, losses and optimizers on the public autograd_lite API.

    import nn
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    optimizer = nn.optim.Adam(model.parameters(), lr=0.01)
    loss = nn.CrossEntropyLoss()(model(X), y)
    optimizer.zero_grad(); loss.backward(); optimizer.step()
"""
from . import init, optim, utils
from .data import DataLoader
from .layers import (Dropout, Flatten, Identity, Linear, LogSoftmax, ReLU, Sequential, Sigmoid,
                     Softmax, Tanh)
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                     MSELoss, NLLLoss, SmoothL1Loss)
from .module import IncompatibleKeys, Module, ModuleDict, ModuleList, Parameter, functional_call
from .training import fit
from .compile import CompiledStep, compile_step  # noqa: I001 - after the optimizers it uses

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "DataLoader", "Dropout", "Flatten",
    "HuberLoss", "Identity", "IncompatibleKeys", "KLDivLoss", "L1Loss", "Linear", "LogSoftmax",
    "MSELoss", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU",
    "Sequential", "Sigmoid", "SmoothL1Loss", "Softmax", "Tanh", "fit", "functional_call", "init",
    "optim", "utils",
]
__all__ += ["CompiledStep", "compile_step"]
