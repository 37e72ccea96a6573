"""MOT17 detector-copy names."""
from mmdmw.datasets.detector_copies import copy_names, split_copy_name


def test_split_copy_name():
    assert split_copy_name('MOT17-02-FRCNN') == ('MOT17-02', 'FRCNN')
    assert split_copy_name('MOT17-14-SDP') == ('MOT17-14', 'SDP')
    assert split_copy_name('MOT20-04') is None
    assert split_copy_name('MOT16-02') is None
    assert split_copy_name('MOT17-02-frcnn') is None  # names are exact


def test_copy_names():
    assert copy_names('MOT17-03-DPM') == [
        'MOT17-03-DPM', 'MOT17-03-FRCNN', 'MOT17-03-SDP']
    assert copy_names('MOT20-04') == ['MOT20-04']
    assert copy_names('TUD-Campus') == ['TUD-Campus']
