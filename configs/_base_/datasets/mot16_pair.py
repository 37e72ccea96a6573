# MOT16 image pairs: MOT17's frames and pipeline, one copy of each sequence
# (no detector suffix) and TrackEval's MOT16 conventions. Layout:
#   data/MOT16/train/MOT16-02/{img1,gt,seqinfo.ini} ...  (7 sequences)
#   data/MOT16/test/MOT16-01/{img1,seqinfo.ini} ...      (7 sequences)
#   python tools/dataset_converters/mot2coco.py -i data/MOT16 \
#       -o data/MOT16/annotations
# MOT16 train is MOT17 train's 7 sequences (02, 04, 05, 09, 10, 11, 13;
# 5316 frames, the same images), so the image scale, anchors and test limits
# of mot17_pair.py and the model base fit it unchanged.
_base_ = './mot17_pair.py'

data_root = 'data/MOT16/'

train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

val_evaluator = dict(benchmark='MOT16')
test_evaluator = val_evaluator
