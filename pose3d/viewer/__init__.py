"""The 3D viewer: a pure scene builder (:mod:`.scene`), PyVista actors (:mod:`.actors`),
off-screen PNG / MP4 rendering (:mod:`.render`) and the interactive window (:mod:`.window`).

PyVista is imported only inside :mod:`.actors`, :mod:`.render` and :mod:`.window`; importing
this package, :mod:`.colors` or :mod:`.scene` needs numpy only.
"""
