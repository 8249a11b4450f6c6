"""DESIGN.md rules that keep the code easy to change, checked on the source tree."""
import ast
import pathlib

PKG = pathlib.Path(__file__).resolve().parent.parent / "kubewatch_ml"
UI_ALLOWED = ("widgets/", "screens/", "app.py", "export/svg")
SIM_ALLOWED = ("sim/", "cli.py", "__main__.py")


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:  # resolve relative imports against the file's package
                parts = list(path.relative_to(PKG.parent).with_suffix("").parts)[: -node.level]
                mod = ".".join(parts + ([mod] if mod else []))
            names.add(mod)
    return names


def _py_files():
    files = sorted(PKG.rglob("*.py"))
    assert files, "no source files found"
    return files


def test_textual_only_in_ui_layer():
    leaks = []
    for f in _py_files():
        rel = f.relative_to(PKG).as_posix()
        if rel.startswith(UI_ALLOWED):
            continue
        if any(n == "textual" or n.startswith("textual.") for n in _imports(f)):
            leaks.append(rel)
    assert leaks == [], f"textual imported outside widgets/, screens/, app.py, export/svg: {leaks}"


def test_product_never_imports_the_simulator():
    leaks = []
    for f in _py_files():
        rel = f.relative_to(PKG).as_posix()
        if rel.startswith(SIM_ALLOWED):
            continue
        if any(n == "kubewatch_ml.sim" or n.startswith("kubewatch_ml.sim.") for n in _imports(f)):
            leaks.append(rel)
    assert leaks == [], f"product code imports the simulator (reach it over HTTP instead): {leaks}"


def test_analysis_is_pure():
    """analysis/ does no I/O and reads no clock: time is a parameter."""
    banned = {"requests", "urllib3", "socket", "kubernetes", "prometheus_api_client", "time", "datetime.datetime.now"}
    bad = []
    for f in sorted((PKG / "analysis").rglob("*.py")):
        hits = {n for n in _imports(f) if n.split(".")[0] in banned}
        if hits:
            bad.append((f.name, sorted(hits)))
    assert bad == [], f"analysis/ must be pure: {bad}"
