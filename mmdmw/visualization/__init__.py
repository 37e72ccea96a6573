"""Drawing helpers: tracks on frames and a run's learning paces (Fig. 1)."""
from .learning_paces import (find_scalars, load_scalars, moving_average,
                             plot_learning_paces)
from .track_drawing import draw_tracks, id_colour

__all__ = [
    'draw_tracks', 'find_scalars', 'id_colour', 'load_scalars',
    'moving_average', 'plot_learning_paces'
]
