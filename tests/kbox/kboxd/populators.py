# SPDX-License-Identifier: MIT
"""kboxd.populators: volume populators (placeholder)."""
from . import ctrl


class Populators(ctrl.Controller):
    kinds = ()
    name_ = "populators"
    period = 60.0

    def pass_once(self):
        pass
