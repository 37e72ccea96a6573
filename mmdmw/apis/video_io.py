"""Frames in, results out: read a video file or an image folder, write a
drawn MP4 and MOTChallenge result lines (``tools/demo/track_video.py``).

Frames are ``np.ndarray`` (H, W, 3) BGR uint8, as OpenCV reads them; boxes
are x1y1x2y2 in the frame's own pixel coordinates.
"""
import os
import os.path as osp
from typing import Iterator, List, Optional, Tuple

import cv2
import numpy as np
from mmengine.structures import InstanceData

from mmdmw.datasets.mot_files import (DEFAULT_FRAME_RATE, IMAGE_EXTS,
                                      SEQINFO_FILE, CorruptImageError,
                                      MOTFormatError,
                                      list_images, read_seqinfo)
from mmdmw.evaluation.trackeval_utils import instances_to_mot_rows
from mmdmw.visualization.track_drawing import draw_tracks

FOURCC = 'mp4v'
DEFAULT_FPS = DEFAULT_FRAME_RATE  # when neither header nor seqinfo.ini says


# -------------------------------------------------------------- reading
def iter_frames(source: str) -> Iterator[np.ndarray]:
    """Read the frames of a video file or of a folder of images.

    Args:
        source (str): Video file (anything ``cv2.VideoCapture`` opens) or a
            folder whose images (``IMAGE_EXTS``) sorted by name are the
            frames.

    Yields:
        np.ndarray: (H, W, 3) BGR uint8 frames.

    Raises:
        FileNotFoundError: ``source`` does not exist, or the folder holds no
            image.
        ValueError: The video cannot be read, or an image cannot be decoded
            (the message names the file).
    """
    if osp.isdir(source):
        yield from _iter_folder(source)
    elif osp.isfile(source):
        yield from _iter_video(source)
    else:
        raise FileNotFoundError(f'{source}: no such video file or folder')


def _iter_folder(folder: str) -> Iterator[np.ndarray]:
    names = list_images(folder)
    if not names:
        raise FileNotFoundError(
            f'{folder} holds no image (' + ', '.join(IMAGE_EXTS) + ')')
    for name in names:
        path = osp.join(folder, name)
        frame = cv2.imread(path, cv2.IMREAD_COLOR)
        if frame is None:
            raise CorruptImageError(
                f'{path} cannot be decoded as an image (corrupt '
                'or not an image); remove or replace it')
        yield frame


def _iter_video(path: str) -> Iterator[np.ndarray]:
    cap = cv2.VideoCapture(path)
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok:
            raise CorruptImageError(
                f'{path} cannot be read as a video by OpenCV (unknown codec '
                'or not a video); convert it, e.g. to H.264 MP4, or extract '
                'its frames to a folder')
        while ok:
            yield frame
            ok, frame = cap.read()
    finally:
        cap.release()


def count_frames(source: str) -> Optional[int]:
    """Number of frames of ``source``, None when unknown (a video's count is
    the container's estimate)."""
    if osp.isdir(source):
        return len(list_images(source))
    cap = cv2.VideoCapture(source)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return count if count > 0 else None


def source_fps(source: str) -> Optional[float]:
    """Frame rate of a video from its header, of an image folder from the
    ``seqinfo.ini`` beside it (MOTChallenge ``SEQ/img1``); None if unknown."""
    if osp.isdir(source):
        seq_dir = osp.dirname(osp.abspath(source))
        if not osp.isfile(osp.join(seq_dir, SEQINFO_FILE)):
            return None
        try:
            return float(read_seqinfo(seq_dir)['frameRate'])
        except MOTFormatError:
            return None
    cap = cv2.VideoCapture(source)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return fps if fps > 0 else None


# -------------------------------------------------------------- writing
def mot_lines(frame_index: int, instances: InstanceData) -> List[str]:
    """MOTChallenge result lines ``frame,id,x,y,w,h,score,-1,-1,-1`` of one
    frame; ``frame_index`` counts from 0, the file from 1."""
    rows = instances_to_mot_rows(frame_index + 1, instances.bboxes,
                                 instances.scores, instances.instances_id)
    return [
        f'{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},'
        f'{r[5]:.2f},{r[6]:.4f},-1,-1,-1\n' for r in rows
    ]


class ResultWriter:
    """Write tracked frames to an MP4 and / or a MOTChallenge text file.

    The text file is flushed after every frame, so a killed run leaves the
    results of every frame processed so far; the MP4 is readable only once
    closed (also on an exception or Ctrl-C). The video is opened at the
    first frame, whose size every later frame is resized to.

    Args:
        out_video (str, optional): MP4 path (fourcc ``mp4v``).
        out_txt (str, optional): MOTChallenge result path.
        fps (float): Frame rate of the video. Defaults to ``DEFAULT_FPS``.
    """

    def __init__(self,
                 out_video: Optional[str] = None,
                 out_txt: Optional[str] = None,
                 fps: float = DEFAULT_FPS) -> None:
        self.out_video, self.fps = out_video, fps
        self.video: Optional[cv2.VideoWriter] = None
        self.size: Optional[Tuple[int, int]] = None  # (W, H)
        self.txt = open(_make_parent(out_txt), 'w') if out_txt else None

    def write(self, frame_index: int, frame: np.ndarray,
              tracks: InstanceData) -> None:
        """Write frame ``frame_index`` (from 0) and its tracks."""
        if self.txt is not None:
            self.txt.writelines(mot_lines(frame_index, tracks))
            self.txt.flush()
        if self.out_video:
            drawn = draw_tracks(frame, tracks)
            if self.video is None:
                self._open_video(drawn.shape[1], drawn.shape[0])
            if drawn.shape[1::-1] != self.size:
                drawn = cv2.resize(drawn, self.size)
            self.video.write(drawn)

    def _open_video(self, width: int, height: int) -> None:
        self.size = (width, height)
        self.video = cv2.VideoWriter(
            _make_parent(self.out_video), cv2.VideoWriter_fourcc(*FOURCC),
            self.fps, self.size)
        if not self.video.isOpened():
            raise OSError(f'OpenCV cannot write {self.out_video} with fourcc '
                          f'{FOURCC}')

    def close(self) -> None:
        """Finish the video (its index is written here) and the text."""
        if self.txt is not None:
            self.txt.close()
        if self.video is not None:
            self.video.release()

    def __enter__(self) -> 'ResultWriter':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _make_parent(path: str) -> str:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    return path
