"""The order of the gallery examples: from one alignment to the whole pipeline."""

ORDER = (
    "plot_transport_plan.py",
    "plot_sink_ablation.py",
    "plot_convergence.py",
    "plot_long_sequences.py",
    "plot_key_steps.py",
    "plot_grid_search.py",
)


class ExampleOrder:
    """Sort key for sphinx-gallery: the examples of ``ORDER`` first, then by file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __call__(self, filename):
        position = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return position, filename
