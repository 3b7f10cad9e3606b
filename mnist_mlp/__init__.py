"""mnist-mlp: train, demonstrate and probe a multi-layer perceptron that reads handwriting."""
