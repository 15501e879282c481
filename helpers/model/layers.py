"""The names of the colourisation network's inputs, layers and outputs, in one place (notebook 02_photo).

The released Caffe model and every file or runtime built from it (``helpers.model.onnx_file``, the
back ends of ``helpers.backends``) use the same names, so the code refers to them here. Pure
Python: ``helpers.model.caffe`` reads the model without OpenCV and imports this module.
"""

INPUT = "data_l"
"""The input: (N, 1, S, S) float32, the L channel (0..100) minus 50."""
SCORES = "conv8_313"
"""The last trained layer: 313 scores (logits) per point, one per ab bin, before ``1 / T`` and the softmax."""
SCALED_SCORES = "conv8_313_rh"
"""The Scale layer that multiplies the scores by ``1 / T``: the annealed-mean temperature lives in its weight."""
COLOUR = "class8_ab"
"""The output: (N, 2, S/4, S/4) ab, a 1x1 convolution whose weights are the 313 ab bin centres."""
INV_TEMPERATURE = "inv_temperature"
"""The second input of the ONNX file and the fast back ends: (1,) float32, ``1 / T``."""
ADDED_LAYERS = (SCALED_SCORES, COLOUR)
"""The two layers whose weights the Caffe model leaves to its user: 1 / T and the cluster centres."""
