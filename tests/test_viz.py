import numpy as np
import pytest

from ngcx import viz


def _png(path):
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_every_plot_renders_a_png(tmp_path):
    rng = np.random.default_rng(0)
    spikes = (rng.uniform(size=(100, 20)) < 0.05).astype(float)
    codes = np.concatenate([rng.normal(size=(30, 5)), rng.normal(size=(30, 5)) + 3])
    labels = np.repeat([0, 1], 30)
    scores = np.eye(3)[rng.integers(0, 3, 40)] + 0.1 * rng.uniform(size=(40, 3))
    outputs = [
        viz.plot_spike_raster(spikes, tmp_path / "raster.png"),
        viz.plot_compartment_traces(rng.normal(size=(50, 4)), tmp_path / "traces.png"),
        viz.plot_embedding(codes, labels, tmp_path / "pca.png"),
        viz.plot_embedding(codes, labels, tmp_path / "tsne.png", method="tsne"),
        viz.plot_classification_analysis(scores, rng.integers(0, 3, 40), tmp_path / "cls.png"),
        viz.plot_learning_curve({"a": [3, 2, 1]}, tmp_path / "curve.png"),
        viz.plot_confusion_matrix(np.eye(3), tmp_path / "cm.png"),
        viz.plot_receptive_fields(rng.normal(size=(64, 10)), (8, 8), tmp_path / "rf.png"),
        viz.plot_filters(rng.normal(size=(3, 3, 2, 2)), tmp_path / "filters.png"),
        viz.plot_reconstructions(
            rng.uniform(size=(3, 8, 8)), rng.uniform(size=(3, 8, 8)), tmp_path / "rec.png"
        ),
    ]
    assert all(_png(p) for p in outputs)


def test_embedding_pca_and_errors(tmp_path):
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [2.0, 0.0]])
    xy = viz.embed_2d(x)
    np.testing.assert_allclose(np.abs(xy[:, 0]), np.abs(x[:, 0] - x[:, 0].mean()), atol=1e-9)
    with pytest.raises(ValueError, match="method"):
        viz.embed_2d(x, "umap")
    with pytest.raises(ValueError, match="spikes"):
        viz.plot_spike_raster(np.ones(5), tmp_path / "r.png")
