from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo county (PRODUCT.md §8): `yishiting demo`."""

    name = "yishiting.demo"
    label = "demo"
