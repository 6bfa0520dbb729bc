import nbformat
import pytest

from vizlib import student

SOLUTION_CELL = """def my_relu(x):
    \"\"\"Keep the positive part.\"\"\"
    ### BEGIN SOLUTION
    y = x.clone()
    y[y < 0] = 0
    return y
    ### END SOLUTION
"""


def _nb():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("x = 1", outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "1"}, execution_count=1)], execution_count=1),
        nbformat.v4.new_code_cell(SOLUTION_CELL, outputs=[nbformat.v4.new_output("stream", text="hi\n")], execution_count=2),
        nbformat.v4.new_code_cell("vizlib.checks.check_relu(my_relu)", outputs=[nbformat.v4.new_output("stream", text="PASS\n")], execution_count=3),
    ]
    return nb


def test_strip_solutions_keeps_indentation_and_surrounding_lines():
    out = student.strip_solutions(SOLUTION_CELL)
    assert out == 'def my_relu(x):\n    """Keep the positive part."""\n    raise NotImplementedError\n'


def test_student_notebook_stubs_solutions_clears_exercise_outputs_and_keeps_the_rest():
    nb = _nb()
    out = student.student_notebook(nb)
    assert out.cells[1].outputs == nb.cells[1].outputs and out.cells[1].execution_count == 1
    assert "raise NotImplementedError" in out.cells[2].source and "y[y < 0]" not in out.cells[2].source
    assert out.cells[2].outputs == [] and out.cells[3].outputs == []
    assert nb.cells[2].source == SOLUTION_CELL  # the instructor notebook is untouched


@pytest.mark.parametrize("source", [
    "### BEGIN SOLUTION\nx = 1\n",
    "x = 1\n### END SOLUTION\n",
    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n",
])
def test_unbalanced_markers_raise(source):
    with pytest.raises(ValueError, match="SOLUTION"):
        student.strip_solutions(source)


def test_command_writes_one_student_notebook_per_chapter(tmp_path):
    src, dst = tmp_path / "chapters", tmp_path / "student"
    src.mkdir()
    nbformat.write(_nb(), src / "a.ipynb")
    nbformat.write(_nb(), src / "b.ipynb")
    assert student.main([str(src), str(dst)]) == 0
    written = sorted(p.name for p in dst.glob("*.ipynb"))
    assert written == ["a.ipynb", "b.ipynb"]
    assert "raise NotImplementedError" in nbformat.read(dst / "a.ipynb", as_version=4).cells[2].source
