"""RGB-D sequence data sets people already have -> scene folders, with their ground-truth poses.

- ``tum``: the TUM RGB-D layout (``rgb.txt``, ``depth.txt``, ``groundtruth.txt``; depth 5000 units/m).
- ``seven_scenes``: the Microsoft 7-Scenes layout (``frame-NNNNNN.color.png|jpg``, ``.depth.png``,
  ``.pose.txt``), whose depth is registered to the colour camera here (``register``).

Each frame keeps its ground truth in its metadata (``"ground_truth_c2w"``, OpenCV camera-to-world)
so that ``sparsenerf poses SCENE --ignore-existing`` can re-estimate the poses and report the
trajectory error against it. Both modules import cheaply (the import registry loads them all).
"""
