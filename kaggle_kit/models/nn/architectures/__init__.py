"""The nets, one module per family. Each module's ``build(params, inputs, n_outputs)`` makes the ``nn.Module`` from
the validated params and the fitted input state (shapes, cardinalities, bin edges), so a saved model is rebuilt
from JSON. ``tabular`` holds the pieces ``realmlp`` and ``tabm`` share (numeric embeddings, categorical encodings).
``heads`` holds what the backbones (and the hybrid) share about their task head: ``drop_head``, ``reset_head``,
``backbone_parameters``, each backbone naming only its head module.

Forward signatures: ``MLP(x_num, x_cat)``, ``RealMLP(x_num, x_cat)``, ``TabM(x_num, x_cat) -> (n, k, outputs)``,
``ImageCNN(x)``, ``ResNet(x)`` / ``ConvNeXt(x)`` / ``TimmNet(x)`` (``cnn`` with ``params.backbone``; each also has
``pooled_features(x)``, ``drop_head``, ``reset_head`` and ``backbone_parameters``), ``RNN(x, lengths)``,
``CNN1D(x, lengths)``.
"""
