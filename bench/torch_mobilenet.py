"""The PyTorch anchor of `npm run bench -- media`: MobileNetV2 (torchvision, random weights) up to Keras's
block_13_expand_relu (torchvision features[14].conv[0]), the part of the network xmodal's default image
featuriser runs, on N random 224 x 224 images in batches of B with T threads. Prints one JSON line."""
import json
import sys
import time

import torch
import torchvision

n, batch, threads = (int(a) for a in sys.argv[1:4])
torch.set_num_threads(threads)
net = torchvision.models.mobilenet_v2(weights=None).eval()
# Keras block_0 is torchvision features[1], so block_13 is features[14]; its expand conv + BN + ReLU6 is conv[0].
trunk = torch.nn.Sequential(*net.features[:14], net.features[14].conv[0])
x = torch.rand(n, 3, 224, 224)
with torch.inference_mode():
    trunk(x[:batch]).mean((2, 3))  # warm-up
    start = time.perf_counter()
    for i in range(0, n, batch):
        out = trunk(x[i:i + batch]).mean((2, 3))
    seconds = time.perf_counter() - start
assert out.shape[1] == 576, out.shape
print(json.dumps({"images_per_s": n / seconds, "threads": threads, "torch": torch.__version__}))
