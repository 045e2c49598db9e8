"""keras.applications models, each built once per test process and shared by every file that reads one.

weights=None: nothing is downloaded. The models are only read (counted, walked,
serialized), never trained or changed, so one object serves every test.
Callers take the `keras` fixture first (it checks that Keras runs on torch).
"""

from __future__ import annotations

import functools


@functools.cache
def application(name: str):
    """keras.applications.<name>(weights=None), built at most once."""
    import keras

    if name == "NASNetMobile":
        return _nasnet_mobile()
    return getattr(keras.applications, name)(weights=None)


def _nasnet_mobile():
    """NASNetMobile: its wrapper refuses the torch backend, so call NASNet with the wrapper's arguments."""
    from keras.src.applications.nasnet import NASNet

    return NASNet(
        None,
        penultimate_filters=1056,
        num_blocks=4,
        stem_block_filters=32,
        skip_reduction=False,
        filter_multiplier=2,
        include_top=True,
        weights=None,
        input_tensor=None,
        pooling=None,
        classes=1000,
        default_size=224,
        classifier_activation="softmax",
        name="nasnet_mobile",
    )
