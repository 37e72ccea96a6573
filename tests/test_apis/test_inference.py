"""Demo logic: model loading, frame reading, tracking, drawing, outputs."""
import copy
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmdmw.apis.inference import (CheckpointMismatchError, init_tracker,
                                  run_demo, state_dict_mismatches,
                                  track_frames)
from mmdmw.apis.video_io import (ResultWriter, iter_frames, mot_lines,
                                 source_fps)
from mmdmw.visualization.track_drawing import draw_tracks, id_colour

CONFIG = osp.join(
    osp.dirname(__file__), '..', '..',
    'configs/dmw/retina_dmw_r18-tiny_1xb4-24e_synthetic.py')
NUM_FRAMES = 3
MOT_FIELDS = 10


@pytest.fixture(scope='module')
def frames_dir(synthetic_frames) -> str:
    return synthetic_frames(NUM_FRAMES)


@pytest.fixture(scope='module')
def cfg() -> Config:
    cfg = Config.fromfile(CONFIG)
    # Random weights score every anchor near the focal prior (0.01); zero
    # thresholds turn those detections into tracks, to exercise the output.
    cfg.model.head.test_cfg.score_thr = 0.0
    # every node starts a confirmed track at once (no tentative frames)
    cfg.model.tracker.update(
        init_score_thr=0.0, score_thr=0.0, confirm_score_thr=0.0)
    return cfg


@pytest.fixture(scope='module')
def checkpoint(cfg, tmp_path_factory) -> str:
    torch.manual_seed(0)
    model = init_tracker(cfg)
    model.init_weights()  # the focal prior: scores near 0.01, as untrained
    path = str(tmp_path_factory.mktemp('ckpt') / 'random.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


@pytest.fixture(scope='module')
def model(cfg, checkpoint):
    torch.set_num_threads(1)  # keep the test light beside other jobs
    return init_tracker(cfg, checkpoint)


def count_video_frames(path: str) -> int:
    cap = cv2.VideoCapture(path)
    num = 0
    while cap.read()[0]:
        num += 1
    cap.release()
    return num


def test_demo_writes_video_and_txt(model, frames_dir, tmp_path):
    video, txt = str(tmp_path / 'out.mp4'), str(tmp_path / 'sub/out.txt')
    assert run_demo(model, frames_dir, video, txt, progress=False) == 3
    assert count_video_frames(video) == NUM_FRAMES
    lines = open(txt).read().splitlines()
    assert lines, 'zero thresholds should give tracks'
    for line in lines:
        fields = line.split(',')
        assert len(fields) == MOT_FIELDS
        assert 1 <= int(fields[0]) <= NUM_FRAMES and int(fields[1]) >= 0
        assert float(fields[4]) > 0 and float(fields[5]) > 0  # w, h
        assert fields[7:] == ['-1', '-1', '-1']
    frames = {int(line.split(',')[0]) for line in lines}
    assert frames == {1, 2, 3}  # the tracker starts tracks at frame 1


def test_score_thr_and_zero_detections(model, frames_dir, tmp_path):
    video, txt = str(tmp_path / 'out.mp4'), str(tmp_path / 'out.txt')
    # Above every score: nothing drawn or written, the video still complete.
    run_demo(model, frames_dir, video, txt, score_thr=1.1, progress=False)
    assert open(txt).read() == ''
    assert count_video_frames(video) == NUM_FRAMES


def test_untrained_model_detects_nothing(cfg, checkpoint, frames_dir):
    default = init_tracker(Config.fromfile(CONFIG), checkpoint)
    results = list(track_frames(default, iter_frames(frames_dir)))
    assert len(results) == NUM_FRAMES
    for frame, tracks in results:
        assert frame.shape == (192, 320, 3)
        assert len(tracks) == 0 and tracks.bboxes.shape == (0, 4)


def test_frame_of_another_size(model, frames_dir, tmp_path):
    folder = tmp_path / 'mixed'
    folder.mkdir()
    for i, frame in enumerate(iter_frames(frames_dir)):
        if i == 1:  # the middle frame is square
            frame = cv2.resize(frame, (256, 256))  # another aspect
        cv2.imwrite(str(folder / f'{i:06d}.png'), frame)
    video = str(tmp_path / 'out.mp4')
    with pytest.warns(UserWarning, match='another size'):
        run_demo(model, str(folder), video, progress=False)
    cap = cv2.VideoCapture(video)
    assert cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 320
    assert count_video_frames(video) == NUM_FRAMES


def test_video_input(frames_dir, tmp_path):
    path, fps = str(tmp_path / 'in.mp4'), 10
    frames = list(iter_frames(frames_dir))
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (320, 192))
    for frame in frames:
        writer.write(frame)
    writer.release()
    assert len(list(iter_frames(path))) == NUM_FRAMES
    assert source_fps(path) == fps
    assert source_fps(frames_dir) == 25  # the generator's seqinfo.ini
    assert source_fps(str(tmp_path)) is None  # a folder of nothing known


def test_input_errors(frames_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match='no such'):
        next(iter_frames(str(tmp_path / 'nowhere')))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no'):
        next(iter_frames(str(tmp_path / 'empty')))
    bad_video = tmp_path / 'bad.mp4'
    bad_video.write_bytes(b'not a video')
    with pytest.raises(ValueError, match='bad.mp4'):
        next(iter_frames(str(bad_video)))
    folder = tmp_path / 'corrupt'
    folder.mkdir()
    cv2.imwrite(str(folder / '000001.jpg'), next(iter_frames(frames_dir)))
    (folder / '000002.jpg').write_bytes(b'\xff\xd8 truncated')
    with pytest.raises(ValueError, match='000002.jpg'):
        list(iter_frames(str(folder)))


def test_checkpoint_of_another_config(cfg, checkpoint, tmp_path):
    other = copy.deepcopy(cfg)
    other.model.head.feat_channels = 32
    with pytest.raises(CheckpointMismatchError,
                       match=r'size mismatch: head\.cls_convs\.0'):
        init_tracker(other, checkpoint)
    state = torch.load(checkpoint)['state_dict']
    del state['head.retina_cls.bias']
    path = str(tmp_path / 'partial.pth')
    torch.save({'state_dict': state}, path)
    with pytest.raises(CheckpointMismatchError,
                       match='missing in checkpoint: head.retina_cls.bias'):
        init_tracker(cfg, path)


def test_state_dict_mismatches():
    model = {'a': torch.zeros(2), 'b': torch.zeros(3),
             'bn.num_batches_tracked': torch.zeros(())}
    assert state_dict_mismatches(model, {'a': torch.zeros(2),
                                         'b': torch.zeros(3)}) == []
    # 'b' missing; BN counters may be missing; 'c' unknown; 'a' resized.
    assert state_dict_mismatches(model, {
        'a': torch.zeros(4), 'c': torch.zeros(1)}) == [
            '  size mismatch: a (checkpoint (4,), model (2,))',
            '  missing in checkpoint: b', '  unexpected in checkpoint: c']


def tracks(boxes, ids, scores=None) -> InstanceData:
    scores = scores or [1.0] * len(ids)
    return InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        scores=torch.tensor(scores), instances_id=torch.tensor(ids))


def test_mot_lines():
    # Box x1y1x2y2 (10, 20, 40, 80) -> x, y, w, h = 10, 20, 30, 60; frame
    # index 0 is frame 1 of the file.
    assert mot_lines(0, tracks([[10, 20, 40, 80]], [3], [0.5])) == [
        '1,3,10.00,20.00,30.00,60.00,0.5000,-1,-1,-1\n'
    ]
    assert mot_lines(4, tracks([], [])) == []


def test_result_writer_flushes_every_frame(tmp_path):
    txt = str(tmp_path / 'out.txt')
    with ResultWriter(out_txt=txt) as writer:
        writer.write(0, np.zeros((8, 8, 3), np.uint8), tracks([[0, 0, 2, 2]],
                                                              [1]))
        # Readable before closing, as after a killed run.
        assert open(txt).read().startswith('1,1,0.00,0.00,2.00,2.00')


def test_draw_tracks():
    assert id_colour(7) == id_colour(7) and id_colour(0) != id_colour(1)
    frame = np.zeros((96, 128, 3), np.uint8)
    drawn = draw_tracks(frame, tracks([[20, 30, 60, 90]], [5]))
    assert not frame.any()  # the input is left alone
    assert tuple(drawn[60, 20]) == id_colour(5)  # left edge, mid-height
    assert drawn[10:30, 20:50].any()  # the label above the box
    assert not drawn[60, 40].any()  # inside the box: untouched
