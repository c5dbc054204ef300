"""Train a USRNN (the paper's super-resolution network with optical skips) and super-resolve
a folder of images with it.

USRNN: a head convolution, CIBlocks (conv-ReLU-conv with a cross-layer skip, the path the
N-LEM's light carries in hardware), an upsampler (conv + PixelShuffle per x2 stage) and a tail
convolution. It learns the residual over MATLAB-bicubic upscaling from aligned LR/HR patches
(LR = bicubic downscale of the HR photo). Here a narrow, shallow one trains for a few hundred
steps on the bundled training photos; the paper scale is 43 CIBlocks of 64 channels for
hours on a GPU (``config/paper.yaml``).

Then the ``upscale`` command (the one users run on their own folders)::

    python -m networks upscale --checkpoint model_x2.pt --scale 2 IN_DIR OUT_DIR

super-resolves every image of a folder; here, the Set5 images shrunk by 2, and the PSNR
against the originals is printed for the network and for bicubic.

Run: ``python examples/super_resolve_folder.py``; ``LEMSIM_EXAMPLE_SMALL=1``: 30 steps.
Outputs in ``results/examples/super_resolve_folder/``: ``model_x2.pt``, ``lr/``, ``sr/``.
"""

# %% Set-up.
from _common import SMALL, start

out = start("super_resolve_folder")

# %% Data: aligned patch pairs, 2x, from the bundled training photos (offline; at test size
# from the Set14 images, which load faster; the evaluation below is on Set5 either way).
import numpy as np  # noqa: E402
import torch  # noqa: E402

from networks.data import load_sr_images  # noqa: E402
from networks.sr.data import PatchSampler  # noqa: E402

torch.manual_seed(0)
train_images = load_sr_images("set14" if SMALL else "sr_train")
sampler = PatchSampler(train_images, scale=2, patch=16, batch=8, seed=0)

# %% The network: a narrow USRNN (8 channels, 2 CIBlocks at test size) from the registry.
from networks.archs import build_model  # noqa: E402
from networks.sr.models import save_model  # noqa: E402
from networks.sr.train import train_sr  # noqa: E402

kwargs = {"channels": 8, "n_blocks": 2} if SMALL else {"channels": 16, "n_blocks": 8}
model = build_model("usrnn", scale=2, **kwargs)
hist = train_sr(model, sampler, iterations=30 if SMALL else 400, lr=1e-3, desc="USRNN x2")
print(f"trained {30 if SMALL else 400} steps ({hist['patches_per_s']:.0f} patches/s)")
ckpt = save_model(out / "model_x2.pt", model, "usrnn", kwargs)

# %% A folder of low-resolution images: the Set5 images, bicubic-downscaled by 2.
from PIL import Image  # noqa: E402

from networks.sr.resize import imresize, modcrop  # noqa: E402

hr_images = load_sr_images("set5")[: 2 if SMALL else 5]
lr_dir, sr_dir = out / "lr", out / "sr"
lr_dir.mkdir(exist_ok=True)
for k, hr in enumerate(hr_images):
    Image.fromarray(imresize(modcrop(hr, 2), 0.5)).save(lr_dir / f"img{k}.png")

# %% Super-resolve the folder with the command-line entry point, as a user would.
from networks.sr.upscale import main as upscale  # noqa: E402

assert upscale(["--checkpoint", str(ckpt), "--scale", "2", str(lr_dir), str(sr_dir)]) == 0

# %% Quality against the originals (luminance PSNR), next to plain bicubic.
from networks.sr.evaluate import super_resolve  # noqa: E402
from networks.sr.metrics import psnr_y  # noqa: E402

for k, hr in enumerate(hr_images):
    hr = modcrop(hr, 2)
    sr = np.asarray(Image.open(sr_dir / f"img{k}.png"))
    bic = super_resolve(None, np.asarray(Image.open(lr_dir / f"img{k}.png")), 2)
    print(f"img{k}: USRNN {psnr_y(hr, sr, border=2):.2f} dB, bicubic "
          f"{psnr_y(hr, bic, border=2):.2f} dB")
print("super-resolved images in", sr_dir)
