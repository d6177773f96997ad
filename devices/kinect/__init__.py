"""Azure Kinect: recordings (.mkv) read with PyAV and no Microsoft SDK, depth aligned to colour with the
SDK's semantics, and live capture through pyk4a (optional).

Modules: ``calibration`` (the JSON as the SDK reads it), ``lens`` (projection / unprojection),
``align`` (depth -> colour), ``undistort`` (pinhole resampling), ``mkv`` (the recording reader),
``source`` (KinectRecording FrameSource), ``live`` (KinectLive over pyk4a), ``importer`` (the
"kinect-mkv" import format). Importing this package is cheap: nothing heavy loads until used.
"""
