"""Networks the ONNX tests write, run and read back: each covers a family of layers and paddings."""

NETWORKS = {
    # Keras's uneven `same` padding (stride 2, even kernels, odd sizes), groups, dilation, explicit pad.
    "same_padding": """
        input 15x15x3
        conv 8 4x4 stride 2 same
        conv 6 2x2 stride 2 same relu
        conv 5 3x3 stride 2 same nobias
        conv 4 2 same dilation 2
        conv 4 3 pad 1 groups 2
    """,
    # max pooling never takes the padding; averages leave it out, even and uneven.
    "pooling": """
        input 13x13x4
        maxpool 2 stride 2 same
        avgpool 3 stride 2 same
        avgpool 2 stride 1 same
        maxpool 3 stride 1 same
        avgpool 3 stride 1 same
        avgpool 2
        gmp keepdims
    """,
    "pytorch_pooling": """
        defaults pytorch
        input 3x17x17
        conv 8 3 pad 1
        maxpool 3 stride 2 pad 1
        maxpool 3 stride 2 ceil
        adaptivepool 1
        flatten
        dense 5
    """,
    "depthwise_separable_bn": """
        input 12x12x3
        dwconv 3x3 mult 2 stride 2 same
        sepconv 8 4x4 mult 2 same relu
        bn
        bn noscale
        bn nocenter eps 1.001e-5
        dwconv 3 dilation 2 same nobias relu6
        sepconv 5 3 stride 2 same nobias
    """,
    # Layer norm, GELU (its own layer and fused), up-sampling and crops, scaled residuals and rescaling:
    # what convnext, a U-Net's decoder and InceptionResNetV2 are made of.
    "norms_gelu_resize_scaling": """
        input 10x12x4
        conv 8 3 same | layernorm | gelu | upsample 2 | crop 1 0 2 1 | upsample 2 bilinear | crop 1
        conv 5 1 gelu | layernorm eps 1e-6 noscale
        scaleadd(identity; conv 5 1 | relu) 0.17 | rescale 0.5 offset 1 | rescale 2 | rescale 1 offset 3
        dense 6 noflatten gelu | flatten | dense 4 gelu | layernorm | dense 3
    """,
    # Layers ONNX writes alike: a grouped conv with a group per channel and a depthwise one, a conv
    # and a depthwise conv of one channel, Keras's ReLU layer and the relu activation, pools.
    "alike_in_onnx": """
        input 8x8x2
        conv 2 1 groups 2 nobias | ReLU | dwconv 3 same | relu | conv 1 1 | dwconv 3 same
        conv 1 3 same | adaptivepool 2
    """,
    # Keras flattens NHWC; dense on a tensor with more axes acts on the channels; layer norm on channels.
    "flatten_dense_layernorm": """
        input 6x5x4
        rescale 1/255 offset=-0.5
        conv 3 3 relu
        dense 6 noflatten gelu
        layernorm
        reshape 3 4 6
        flatten
        dense 7 tanh
        dropout 0.5
        droppath 0.2
        dense 3 softmax
    """,
    "activations": """
        input 5x5x3
        sigmoid | tanh | swish | elu | selu | softplus | softsign
        hardsigmoid | hardswish | mish | leakyrelu 0.1 | gelu | relu6 | linear
        conv 4 1 leakyrelu
    """,
    "graph_merges": """
        input 9x9x3
        zeropad 1
        crop 1
        upsample 2
        conv 4 3 stride 2 same
        add(identity; conv 4 3 same | bn | relu | conv 4 3 same)
        concat(conv 2 1; avgpool 3 stride 1 same; maxpool 2 stride 1 same)
        average(conv 4 1; conv 4 1)
        maximum(conv 4 1; conv 4 1)
        minimum(conv 4 1; conv 4 1)
        subtract(conv 4 1; conv 4 1)
        multiply(conv 4 1; conv 4 1; conv 4 1)
        add(conv 4 1; conv 4 1; conv 4 1)
        gap
        dense 3
    """,
    # Transposed convs cut as Keras cuts them (`same`, `valid` past the kernel, output padding, dilation),
    # fixed and learned statistics, a learned factor per channel (of an image and of a vector), ShuffleNet's
    # channel shuffle and chunk: what a U-Net, EfficientNet, ConvNeXt and ShuffleNet are made of.
    "transposed_statistics_channels": """
        input 5x4x4
        normalize mean 0.5 0.4 0.3 0.2 variance 0.25 0.2 0.3 0.01
        normalize mean 0.1 variance 4
        normalize
        deconv 6 3 stride 2 same relu
        deconv 6 2 stride 2 nobias
        deconv 4 3 stride 2 outpad 1
        deconv 6 1 stride 3 same
        deconv 6 3 stride 2 same outpad 0
        deconv 6 3 dilation 2 swish
        layerscale 0.5 | shuffle 3 | chunk 2 1 | shuffle 1
        conv 4 3 stride 3 | gap | dense 4 | layerscale
    """,
}
