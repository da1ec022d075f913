"""ngcx.viz: ``ax=`` on every plot, Figures returned, no backend changes, the plots ported
from ngc-learn 3.2's utils/viz (overlay raster, single-neuron plot, synapse grids, GIFs)."""

import ast
from pathlib import Path

import numpy as np
import pytest

from ngcx import viz


plt = pytest.importorskip("matplotlib.pyplot")
import matplotlib  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


@pytest.fixture(autouse=True)
def _agg(monkeypatch):
    """Agg in these tests only; ``matplotlib.use`` must never be called by ngcx.viz."""
    old = plt.get_backend()
    plt.switch_backend("Agg")

    def forbidden(*args, **kwargs):
        raise AssertionError(f"ngcx.viz called matplotlib.use{args}")

    monkeypatch.setattr(matplotlib, "use", forbidden)
    yield
    plt.close("all")
    monkeypatch.undo()
    if old.lower() != "agg":
        plt.switch_backend(old)


RNG = np.random.default_rng(0)
SPIKES = (RNG.uniform(size=(40, 6)) < 0.2).astype(float)
CODES = np.concatenate([RNG.normal(size=(10, 3)), RNG.normal(size=(10, 3)) + 3])
LABELS = np.repeat([0, 1], 10)

# every single-axes plot, called with ax= (no path)
PLOTS = {
    "learning_curve": lambda ax: viz.plot_learning_curve(
        {"loss": [3, 2, 1], "acc": [0.1, 0.5, 0.9]}, secondary=("acc",), ax=ax
    ),
    "confusion_matrix": lambda ax: viz.plot_confusion_matrix(np.eye(3) * 4, ax=ax),
    "classification": lambda ax: viz.plot_classification_analysis(
        np.eye(3)[[0, 1, 2, 0]], np.array([0, 1, 2, 1]), ax=ax
    ),
    "receptive_fields": lambda ax: viz.plot_receptive_fields(
        RNG.normal(size=(12, 5)), (3, 4), ax=ax
    ),
    "synapse_grid": lambda ax: viz.plot_synapse_grid([RNG.normal(size=(9, 4))], [(3, 3)], ax=ax),
    "filters": lambda ax: viz.plot_filters(RNG.normal(size=(3, 3, 2, 3)), ax=ax),
    "reconstructions": lambda ax: viz.plot_reconstructions(
        RNG.uniform(size=(3, 4, 4)), RNG.uniform(size=(3, 4, 4, 1))[..., 0], ax=ax
    ),
    "spike_raster": lambda ax: viz.plot_spike_raster(SPIKES, ax=ax),
    "overlay_raster": lambda ax: viz.plot_overlay_raster(SPIKES, SPIKES[::-1], ax=ax),
    "compartment_traces": lambda ax: viz.plot_compartment_traces(RNG.normal(size=(20, 3)), ax=ax),
    "spiking_neuron": lambda ax: viz.plot_spiking_neuron(
        np.ones(20), np.linspace(0, 1, 20), SPIKES[:20, 0], ax=ax
    ),
    "embedding": lambda ax: viz.plot_embedding(CODES, LABELS, ax=ax),
}
WEIGHT_IMAGES = ("receptive_fields", "synapse_grid", "filters", "reconstructions")


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_every_plot_draws_on_the_given_axes_and_returns_its_figure(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    backend = matplotlib.get_backend()
    fig, (ax, other) = plt.subplots(1, 2)
    out = PLOTS[name](ax)
    assert out is fig
    assert ax.has_data() or ax.images or ax.collections
    assert not other.has_data()  # nothing drawn elsewhere
    assert len(plt.get_fignums()) == 1  # no new figure opened
    assert list(tmp_path.iterdir()) == []  # nothing written without a path
    assert matplotlib.get_backend() == backend
    # axes labelled
    assert ax.get_xlabel() and ax.get_ylabel(), name
    # weight images carry a colour bar
    if name in WEIGHT_IMAGES:
        assert ax.images and ax.images[0].colorbar is not None, name


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_without_ax_a_new_figure_is_returned_and_left_open(name):
    before = set(plt.get_fignums())
    fig = PLOTS[name](None)
    assert isinstance(fig, Figure)
    assert fig.number in set(plt.get_fignums()) - before  # shows in a notebook


def test_path_saves_and_closes_only_figures_made_here(tmp_path):
    fig = viz.plot_spike_raster(SPIKES, tmp_path / "sub" / "r.png")
    assert (tmp_path / "sub" / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert isinstance(fig, Figure) and fig.number not in plt.get_fignums()
    fig.savefig(tmp_path / "again.png", dpi=20)  # the closed figure is still usable
    # with ax= the user's figure is saved but stays open
    user_fig, ax = plt.subplots()
    assert viz.plot_spike_raster(SPIKES, tmp_path / "u.png", ax=ax) is user_fig
    assert (tmp_path / "u.png").exists() and user_fig.number in plt.get_fignums()
    # old positional signatures still work (path in the second place)
    viz.plot_learning_curve({"a": [1.0, 2.0]}, tmp_path / "c.png", "title")
    viz.plot_confusion_matrix(np.eye(2), tmp_path / "m.png", ["a", "b"], "t")
    viz.plot_receptive_fields(np.ones((4, 2)), (2, 2), tmp_path / "f.png", 1, "t")
    assert all((tmp_path / f).exists() for f in ("c.png", "m.png", "f.png"))


def test_viz_imports_matplotlib_only_inside_functions():
    tree = ast.parse(Path(viz.__file__).read_text())
    for node in tree.body:  # module level (TYPE_CHECKING imports are never run)
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert not any(n.startswith("matplotlib") for n in names), ast.dump(node)
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in ("use", "switch_backend")
    ]
    assert calls == []


def test_tile_fields_layout_and_scaling():
    # two 2x2 fields, one row, one column of padding between them
    w = np.array([[1.0, -4.0], [2.0, 0.0], [3.0, 0.0], [4.0, 2.0]])
    img = viz.tile_fields(w, (2, 2), scale="global")
    assert img.shape == (2, 5)
    np.testing.assert_array_equal(img[:, :2], [[1, 2], [3, 4]])
    assert np.isnan(img[:, 2]).all()
    np.testing.assert_array_equal(img[:, 3:], [[-4, 0], [0, 2]])
    field = viz.tile_fields(w, (2, 2))
    np.testing.assert_allclose(field[:, :2], [[0.25, 0.5], [0.75, 1.0]])
    np.testing.assert_allclose(field[:, 3:], [[-1, 0], [0, 0.5]])
    col_major = viz.tile_fields(w, (2, 2), scale="none", order="F", cols=1, pad=0)
    np.testing.assert_array_equal(col_major, [[1, 3], [2, 4], [-4, 0], [0, 2]])
    assert viz.tile_fields(np.ones((4, 5)), (2, 2), max_fields=3).shape == (5, 5)
    with pytest.raises(ValueError, match="weights"):
        viz.tile_fields(np.ones((5, 2)), (2, 2))
    with pytest.raises(ValueError, match="scale"):
        viz.tile_fields(w, (2, 2), scale="log")
    with pytest.raises(ValueError, match="order"):
        viz.tile_fields(w, (2, 2), order="K")


def test_receptive_fields_colour_scale():
    w = np.array([[1.0, -4.0], [2.0, 0.0], [3.0, 0.0], [4.0, 2.0]])
    fig = viz.plot_receptive_fields(w, (2, 2), scale="global")
    im = fig.axes[0].images[0]
    assert im.get_clim() == (-4.0, 4.0)  # symmetric about zero, the weights' units
    assert "weight" in im.colorbar.ax.get_ylabel()
    fig = viz.plot_receptive_fields(w, (2, 2))
    assert fig.axes[0].images[0].get_clim() == (-1.0, 1.0)


def _points(collection):
    return {tuple(p) for p in np.asarray(collection.get_offsets()).tolist()}


def test_overlay_raster_colours_hits_misses_and_extras():
    spikes = np.zeros((5, 3))
    targets = np.zeros((5, 3))
    spikes[1, 0] = targets[1, 0] = 1  # hit
    targets[2, 1] = 1  # missed
    spikes[3, 2] = spikes[4, 2] = 1  # extra
    fig = viz.plot_overlay_raster(spikes, targets, dt=0.5)
    hit, missed, extra = fig.axes[0].collections
    assert _points(hit) == {(0.5, 0.0)}
    assert _points(missed) == {(1.0, 1.0)}
    assert _points(extra) == {(1.5, 2.0), (2.0, 2.0)}
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "hit (1)",
        "missed (1)",
        "extra (2)",
    ]
    # indices select neurons onto rows 0..k-1, labelled by their index
    fig = viz.plot_overlay_raster(spikes, targets, indices=[2])
    assert _points(fig.axes[0].collections[2]) == {(3.0, 0.0), (4.0, 0.0)}
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["2"]
    with pytest.raises(ValueError, match="targets"):
        viz.plot_overlay_raster(spikes, targets[:4])
    with pytest.raises(ValueError, match="indices"):
        viz.plot_overlay_raster(spikes, targets, indices=[3])


def test_spiking_neuron_panels_and_spike_marks():
    T, dt = 30, 0.5
    curr = np.full(T, 2.0)
    mem = np.linspace(-70.0, -50.0, T)
    spike = np.zeros(T)
    spike[[4, 17]] = 1
    fig = viz.plot_spiking_neuron(curr, mem, spike, dt=dt, thr_line=-55.0, title="LIF")
    ax_c, ax_v = fig.axes
    np.testing.assert_allclose(ax_c.lines[0].get_ydata(), curr)
    np.testing.assert_allclose(ax_v.lines[0].get_xdata(), np.arange(T) * dt)
    segments = ax_v.collections[0].get_segments()
    np.testing.assert_allclose(sorted(s[0][0] for s in segments), [4 * dt, 17 * dt])
    assert ax_v.get_xlabel() == "time (ms)" and "mV" in ax_v.get_ylabel()
    assert ax_c.get_title() == "LIF"
    # refractory state gets a third panel; limits of the voltage panel
    fig = viz.plot_spiking_neuron(
        curr, mem, spike, np.zeros(T), dt, min_mem_val=-80.0, max_mem_val=-40.0
    )
    assert len(fig.axes) == 3 and fig.axes[1].get_ylim() == (-80.0, -40.0)
    # one given axes: voltage and spikes there, current on a twin axis
    fig, ax = plt.subplots()
    assert viz.plot_spiking_neuron(curr, mem, spike, ax=ax) is fig
    assert len(fig.axes) == 2 and ax.get_ylabel().startswith("membrane")
    # a list of axes, one per panel
    fig, axes = plt.subplots(3, 1)
    viz.plot_spiking_neuron(curr, mem, spike, np.ones(T), ax=axes)
    assert all(a.lines for a in axes)
    with pytest.raises(ValueError, match="`curr`, `mem` and `spike`"):
        viz.plot_spiking_neuron(curr[:-1], mem, spike)
    with pytest.raises(ValueError, match="ref"):
        viz.plot_spiking_neuron(curr, mem, spike, np.ones(3))
    with pytest.raises(ValueError, match="ax"):
        viz.plot_spiking_neuron(curr, mem, spike, np.ones(T), ax=axes[:2])


def test_synapse_grid_banks_share_one_colour_scale():
    thetas = [RNG.normal(size=(9, 4)), 3 * RNG.normal(size=(4, 9)), RNG.normal(size=(6, 2))]
    sizes = [(3, 3), (2, 2), (2, 3)]
    fig = viz.plot_synapse_grid(thetas, sizes, titles=["a", "b", "c"], scale="global")
    banks = [a for a in fig.axes if a.images]
    assert [a.get_title() for a in banks] == ["a", "b", "c"]
    peak = max(np.abs(t).max() for t in thetas)
    assert all(np.allclose(a.images[0].get_clim(), (-peak, peak)) for a in banks)
    assert banks[1].images[0].get_array().shape == (8, 8)  # 3x3 tiles of 2x2, padding 1
    # a grid of grids: 2 x 2 places for 3 banks, the fourth left empty
    fig = viz.plot_synapse_grid(thetas, sizes, macro_grid_shape=(2, 2), order=["C", "F", "C"])
    assert sum(1 for a in fig.axes if a.images) == 3
    with pytest.raises(ValueError, match="sizes"):
        viz.plot_synapse_grid(thetas, sizes[:2])
    with pytest.raises(ValueError, match="macro_grid_shape"):
        viz.plot_synapse_grid(thetas, sizes, macro_grid_shape=(1, 2))
    with pytest.raises(ValueError, match=r"thetas\[1\]"):
        viz.plot_synapse_grid(thetas, [(3, 3), (3, 3), (2, 3)])
    with pytest.raises(ValueError, match="ax"):
        _, ax = plt.subplots()
        viz.plot_synapse_grid(thetas, sizes, ax=ax)


def test_gif_written_with_pillow_writer(tmp_path):
    from PIL import Image

    history = [RNG.normal(size=(16, 4)) * (k + 1) for k in range(4)]
    frames = [viz.tile_fields(w, (4, 4)) for w in history]
    fig = viz.save_gif(
        frames, tmp_path / "fields.gif", fps=5, cmap="RdBu_r", vmin=-1, vmax=1, dpi=30
    )
    assert isinstance(fig, Figure) and fig.number not in plt.get_fignums()
    with Image.open(tmp_path / "fields.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 4
    # frames from image files a training loop wrote (ngc-learn's make_video), RGB
    paths = []
    for k in range(3):
        rgb = np.zeros((6, 8, 3))
        rgb[:, k] = 1.0
        paths.append(tmp_path / f"frame{k}.png")
        plt.imsave(paths[-1], rgb)
    viz.save_gif(paths, tmp_path / "video.gif", titles=["a", "b", "c"], dpi=30)
    with Image.open(tmp_path / "video.gif") as gif:
        assert gif.n_frames == 3
    # the animation itself, on given axes
    user_fig, ax = plt.subplots()
    anim = viz.animate_frames(np.stack(frames), ax=ax)
    assert anim._fig is user_fig  # drawn on the user's figure
    anim.save(tmp_path / "anim.gif", writer=matplotlib.animation.PillowWriter(fps=2), dpi=30)
    with pytest.raises(ValueError, match="frames"):
        viz.save_gif([np.ones((3, 3)), np.ones((4, 4))], tmp_path / "bad.gif")
    with pytest.raises(ValueError, match="titles"):
        viz.save_gif(frames, tmp_path / "bad.gif", titles=["x"])
    with pytest.raises(ValueError, match="fps"):
        viz.save_gif(frames, tmp_path / "bad.gif", fps=0)


def test_bad_inputs_name_the_argument():
    with pytest.raises(TypeError, match="ax"):
        viz.plot_spike_raster(SPIKES, ax="left")
    with pytest.raises(ValueError, match="secondary"):
        viz.plot_learning_curve({"a": [1.0]}, secondary=("b",))
    with pytest.raises(ValueError, match="class_names"):
        viz.plot_confusion_matrix(np.eye(2), class_names=["a"])
    with pytest.raises(ValueError, match="filters"):
        viz.plot_filters(np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match="images"):
        viz.plot_reconstructions(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="indices"):
        viz.plot_compartment_traces(np.ones((4, 2)), indices=[5])
