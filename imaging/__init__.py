"""Images and blobs, shared by the commands that check a request and the workers that
make pixels: PNG reading and writing (:mod:`imaging.png`), the content-addressed blob
store (:mod:`imaging.blobs`), the checks a request needs before a job may be queued
(:mod:`imaging.checks`, :mod:`imaging.masks`) and the adjustments' plan and pixels
(:mod:`imaging.adjustments`). Pillow, no torch."""
