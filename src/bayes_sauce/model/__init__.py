"""The generative model, written once in PyMC: the design it is built on, its building blocks, and evaluation
of its expressions over posterior draws."""

from bayes_sauce.compiling import configure

configure()
