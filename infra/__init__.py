"""The AWS CDK app: one Stack (``stack.py``) composing one Construct per unit; settings in ``settings.py``."""
