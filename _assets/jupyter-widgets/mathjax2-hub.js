// ipywidgets' HTML manager typesets widget labels through MathJax 2's API
// (MathJax.Hub.Queue) whenever window.MathJax exists; the book loads MathJax 3, which has
// no Hub, so every label threw "Cannot read properties of undefined (reading 'Queue')".
// This maps that one call onto MathJax 3. Loaded before embed.js (nb_ipywidgets_js in
// _config.yml); both act on the window's load event, this one first.
window.addEventListener("load", function () {
  var mathjax = window.MathJax;
  if (!mathjax || mathjax.Hub || !mathjax.startup) return;
  mathjax.Hub = {
    Queue: function () {
      var elements = [];
      Array.prototype.forEach.call(arguments, function (job) {
        if (Array.isArray(job) && job[0] === "Typeset" && job[2]) elements.push(job[2]);
      });
      return mathjax.startup.promise.then(function () {
        return mathjax.typesetPromise(elements.length ? elements : undefined);
      });
    },
  };
});
