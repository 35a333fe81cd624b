"""nn: modules, layers, losses and optimizers on the public autograd_lite API.

    import nn
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    optimizer = nn.optim.Adam(model.parameters(), lr=0.01)
    loss = nn.CrossEntropyLoss()(model(X), y)
    optimizer.zero_grad(); loss.backward(); optimizer.step()
"""
from . import init, optim, utils
from .activation import ELU, GELU, Hardtanh, LeakyReLU, Mish, SiLU, Softplus
from .conv import Conv1d, Conv2d
from .data import DataLoader
from .embedding import Embedding
from .layers import (Dropout, Flatten, Identity, Linear, LogSoftmax, ReLU, Sequential, Sigmoid,
                     Softmax, Tanh)
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                     MSELoss, NLLLoss, SmoothL1Loss)
from .module import IncompatibleKeys, Module, ModuleDict, ModuleList, Parameter, functional_call
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .pool import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .training import fit
from .compile import CompiledStep, compile_step  # noqa: I001 - after the optimizers it uses

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d",
    "BatchNorm2d", "Conv1d", "Conv2d", "CrossEntropyLoss", "DataLoader", "Dropout", "ELU",
    "Embedding", "Flatten", "GELU", "GRU", "GRUCell", "GroupNorm", "Hardtanh", "HuberLoss",
    "Identity", "IncompatibleKeys", "KLDivLoss", "L1Loss", "LSTM", "LSTMCell", "LayerNorm",
    "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool1d", "MaxPool2d", "Mish", "Module",
    "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "RNN", "RNNCell", "ReLU", "Sequential",
    "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax", "Softplus", "Tanh", "fit", "functional_call",
    "init", "optim", "utils",
]
__all__ += ["CompiledStep", "compile_step"]
