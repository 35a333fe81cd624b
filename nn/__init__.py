"""nn: modules, layers, losses and optimizers on the public autograd_lite API."""
