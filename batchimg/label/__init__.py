"""Connected components across chunks, numbered exactly as scipy.ndimage.label.

Algorithm (every step is per block or per label; none holds the whole image):

1. **Per-block labels.** Each block is labelled on its own: the components of
   ``scipy.ndimage.label`` with the structure, found by cc3d for scipy's own
   structures (:func:`mask_components`; their numbers do not matter, step 4 sets
   them). For every local label the block records the global raster (C-order
   linear) index of its first pixel, and it keeps its boundary faces (one slice per
   side per axis).
2. **Face equivalences.** For each pair of neighbouring blocks -- across faces,
   and across edges and corners where the structure connects diagonal
   neighbours -- a small task pairs the local labels of touching foreground
   pixels, for every offset of the structure that crosses that boundary.
3. **Union of equivalences.** One task takes only per-label summaries (first
   pixel indices and the equivalence pairs) and finds the connected components of
   the label graph (``scipy.sparse.csgraph.connected_components``).
4. **Renumbering in raster order.** scipy numbers components by the raster order
   of their first pixel; the first pixel of a component is the earliest first
   pixel of its pieces, so ranking components by it reproduces scipy's numbers.
5. **Relabel per block.** Each block maps its local labels through a small
   lookup table.

The number of tasks grows linearly with the number of blocks (one labelling task,
at most ``(3**ndim - 1) / 2`` pairing tasks per block, one relabel task), and the
resolve step is linear in the number of labels.

The same machinery answers other per-component questions with a *flag*
resolver instead of a numbering one: which background components touch the border
(:func:`binary_fill_holes`), which mask components a seed reaches
(:func:`binary_propagation`), which objects touch the border
(:func:`clear_border`).
"""

from ._components import clear_border
from ._label import label
from ._merge import label_dtype, mask_components, normalize_structure
from ._propagate import binary_fill_holes, binary_propagation, reconstruct_by_propagation
from ._store import flag_store, label_measure_store, relabel_store
from ._watershed import watershed_ift

__all__ = [
    "binary_fill_holes",
    "binary_propagation",
    "clear_border",
    "flag_store",
    "label",
    "label_dtype",
    "label_measure_store",
    "mask_components",
    "relabel_store",
    "normalize_structure",
    "reconstruct_by_propagation",
    "watershed_ift",
]
