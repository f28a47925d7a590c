import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'shared'))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', 'demo'))
