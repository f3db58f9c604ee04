"""CBAM (Woo et al., ECCV 2018) as an mmdet ResNet plugin: channel attention, then spatial attention.

Used through ``ResNet(plugins=[dict(cfg=dict(type='CBAM'), stages=(False, True, True, True),
position='after_conv3')])`` (seed 002 put it on every stage but the first). ``mmcv.cnn.build_plugin_layer``
passes ``in_channels``. With ``identity_init=True`` (default) the gates are ``2 * sigmoid(z)`` and the last
layer producing ``z`` starts at zero, so every gate is exactly 1 at step 0 and a pretrained backbone's
features pass through untouched; ``identity_init=False`` is the paper's plain ``sigmoid`` gate.
"""
from __future__ import annotations

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import nn


@MODELS.register_module()
class CBAM(BaseModule):
    """Convolutional Block Attention Module.

    Args:
        in_channels: channels of the feature map (given by mmcv's plugin builder).
        reduction: channel-MLP reduction ratio ``r``.
        spatial_kernel: kernel of the spatial-attention conv (7 in the paper).
        identity_init: start as the identity (see module docstring).
    """

    _abbr_ = 'cbam'

    def __init__(self, in_channels: int, reduction: int = 16, spatial_kernel: int = 7,
                 identity_init: bool = True, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        hidden = max(in_channels // reduction, 1)
        self.channel_mlp = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, bias=False), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, in_channels, 1, bias=False))
        self.spatial_conv = nn.Conv2d(2, 1, spatial_kernel, padding=spatial_kernel // 2, bias=True)
        self.identity_init = identity_init

    def init_weights(self):
        super().init_weights()
        if self.identity_init:
            nn.init.zeros_(self.channel_mlp[-1].weight)
            nn.init.zeros_(self.spatial_conv.weight)
            nn.init.zeros_(self.spatial_conv.bias)

    def _gate(self, z: torch.Tensor) -> torch.Tensor:
        return 2 * torch.sigmoid(z) if self.identity_init else torch.sigmoid(z)

    def channel_attention(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=(2, 3), keepdim=True), x.amax(dim=(2, 3), keepdim=True)])
        avg, mx = self.channel_mlp(pooled).chunk(2)  # one MLP pass for both poolings
        return self._gate(avg + mx)

    def spatial_attention(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return self._gate(self.spatial_conv(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel_attention(x)
        return x * self.spatial_attention(x)
