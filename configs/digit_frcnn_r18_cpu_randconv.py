# The CPU config trained with random convolutions (RandConv, Xu et al. 2021): half of the training images are
# filtered by a fresh random 1x1-7x7 convolution blended with the original, so the detector learns digit shapes,
# not the renderer's textures and colours (mmdigit.models.RandomConvolution; training only, reading unchanged).
#   python tools/train.py configs/digit_frcnn_r18_cpu_randconv.py --work-dir work_dirs/r18_cpu_randconv
_base_ = './digit_frcnn_r18_cpu.py'

model = dict(data_preprocessor=dict(batch_augments=[dict(type='RandomConvolution', prob=0.5)]))
