"""Drawing helpers: tracks on frames, a run's learning paces (Fig. 1) and
the tasks' gradient shares."""
from .gradient_shares import load_shares, mean_shares, plot_gradient_shares
from .learning_paces import (find_scalars, load_scalars, moving_average,
                             plot_learning_paces)
from .track_drawing import draw_tracks, id_colour

__all__ = [
    'draw_tracks', 'find_scalars', 'id_colour', 'load_scalars',
    'load_shares', 'mean_shares', 'moving_average', 'plot_gradient_shares',
    'plot_learning_paces'
]
