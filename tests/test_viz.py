import numpy as np
import pytest

from ngcx import viz


@pytest.fixture(autouse=True)
def _agg():
    """Render with Agg in these tests only, and close what the tests leave open."""
    plt = pytest.importorskip("matplotlib.pyplot")
    old = plt.get_backend()
    plt.switch_backend("Agg")
    yield
    plt.close("all")
    if old.lower() != "agg":
        plt.switch_backend(old)


def _png(path):
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_every_plot_renders_a_png(tmp_path):
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0)
    spikes = (rng.uniform(size=(100, 20)) < 0.05).astype(float)
    codes = np.concatenate([rng.normal(size=(30, 5)), rng.normal(size=(30, 5)) + 3])
    labels = np.repeat([0, 1], 30)
    scores = np.eye(3)[rng.integers(0, 3, 40)] + 0.1 * rng.uniform(size=(40, 3))
    calls = [
        ("raster.png", lambda p: viz.plot_spike_raster(spikes, p)),
        ("traces.png", lambda p: viz.plot_compartment_traces(rng.normal(size=(50, 4)), p)),
        ("pca.png", lambda p: viz.plot_embedding(codes, labels, p)),
        ("tsne.png", lambda p: viz.plot_embedding(codes, labels, p, method="tsne")),
        ("cls.png", lambda p: viz.plot_classification_analysis(scores, rng.integers(0, 3, 40), p)),
        ("curve.png", lambda p: viz.plot_learning_curve({"a": [3, 2, 1]}, p)),
        ("cm.png", lambda p: viz.plot_confusion_matrix(np.eye(3), p)),
        ("rf.png", lambda p: viz.plot_receptive_fields(rng.normal(size=(64, 10)), (8, 8), p)),
        ("filters.png", lambda p: viz.plot_filters(rng.normal(size=(3, 3, 2, 2)), p)),
        (
            "rec.png",
            lambda p: viz.plot_reconstructions(
                rng.uniform(size=(3, 8, 8)), rng.uniform(size=(3, 8, 8)), p
            ),
        ),
    ]
    for name, call in calls:
        fig = call(tmp_path / name)
        assert isinstance(fig, Figure)  # the figure is returned (it used to be the path)
        assert _png(tmp_path / name), name


def test_embedding_pca_and_errors(tmp_path):
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [2.0, 0.0]])
    xy = viz.embed_2d(x)
    np.testing.assert_allclose(np.abs(xy[:, 0]), np.abs(x[:, 0] - x[:, 0].mean()), atol=1e-9)
    with pytest.raises(ValueError, match="method"):
        viz.embed_2d(x, "umap")
    with pytest.raises(ValueError, match="spikes"):
        viz.plot_spike_raster(np.ones(5), tmp_path / "r.png")
