"""Object-recognition evaluation of the trained model (docs/model.md §8, ``evaluate.py``):
data sets (``datasets``), the published preprocessing (``protocol``), features from the
frozen network in worker processes (``simulate``), the linear read-out (``classify``) and
the report (``report``) with its representation figures (``figures``); ``cli`` ties them
together, ``compare`` tabulates several runs."""
