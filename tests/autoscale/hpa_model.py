# SPDX-License-Identifier: MIT
"""tests/autoscale/hpa_model.py - a reference model of the Kubernetes HPA
controller's decision, kept apart from control/autoscale on purpose: it follows
the structure of upstream's Go (kubernetes/kubernetes
pkg/controller/podautoscaler, v1.33-v1.34) function by function, with Python's
own types (dicts of pod name -> value, sets), so that the C and this model are
two readings of the same source, compared on recorded traces by
t_autoscale_model.py.

  replica_calculator.go  GetResourceReplicas, GetRawResourceReplicas,
                         GetMetricReplicas -> calc_plain_metric_replicas,
                         groupPods, calculateRequests, removeMetricsForPods,
                         Tolerances.isWithin
  metrics/utilization.go GetResourceUtilizationRatio, GetMetricUsageRatio
  horizontal.go          reconcileAutoscaler, computeReplicasForMetrics,
                         computeReplicasForMetric, stabilizeRecommendation,
                         normalizeDesiredReplicas(WithBehaviors),
                         stabilizeRecommendationWithBehaviors,
                         convertDesiredReplicasWithRules,
                         convertDesiredReplicasWithBehaviorRate,
                         calculateScaleUpLimitWithScalingRules,
                         calculateScaleDownLimitWithBehaviors,
                         getReplicasChangePerPeriod, storeScaleEvent,
                         markScaleEventsOutdated, getLongestPolicyPeriod,
                         tolerancesForHpa (KEP-4951)
  pkg/apis/autoscaling/v2/defaults.go  the behavior defaults

Times are integers in milliseconds; values are milli-units (Quantity.MilliValue).
"""
import math

INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)

SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0


def go_div(a, b):
    """Go's integer division truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def go_int32(f):
    """int32(float64) for the values at hand (truncation toward zero)."""
    if f != f:
        return 0
    if f >= INT32_MAX:
        return INT32_MAX
    if f <= INT32_MIN:
        return INT32_MIN
    return int(f)


class MetricError(Exception):
    pass


class Tolerances:
    def __init__(self, down, up):
        self.scale_down = down
        self.scale_up = up

    def is_within(self, usage_ratio):
        return (1.0 - self.scale_down) <= usage_ratio <= (1.0 + self.scale_up)


# ---- pkg/apis/autoscaling/v2/defaults.go ----

def scale_up_rules(given):
    rules = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
             "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                          {"type": "Percent", "value": 100, "periodSeconds": 15}],
             "tolerance": None}
    return copy_rules(given, rules)


def scale_down_rules(given):
    rules = {"stabilizationWindowSeconds": None, "selectPolicy": "Max",
             "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
             "tolerance": None}
    return copy_rules(given, rules)


def copy_rules(given, to):
    if given is None:
        return to
    for k in ("selectPolicy", "stabilizationWindowSeconds", "policies", "tolerance"):
        if given.get(k) is not None:
            to[k] = given[k]
    return to


# ---- metrics/utilization.go ----

def get_resource_utilization_ratio(metrics, requests, target_utilization):
    metrics_total = 0
    requests_total = 0
    entries = 0
    for pod, value in metrics.items():
        if pod not in requests:
            continue
        metrics_total += value
        requests_total += requests[pod]
        entries += 1
    if requests_total == 0:
        raise MetricError("no metrics returned matched known pods")
    current = go_div(metrics_total * 100, requests_total)
    return current / target_utilization, current, go_div(metrics_total, entries)


def get_metric_usage_ratio(metrics, target_usage):
    total = sum(metrics.values())
    current = go_div(total, len(metrics))
    return current / target_usage, current


# ---- replica_calculator.go ----

def group_pods(pods, metrics, resource, cpu_init_period, initial_readiness_delay, now):
    missing, unready, ignored = set(), set(), set()
    ready_count = 0
    for name, pod in pods.items():
        if pod["deleting"] or pod["phase"] == "Failed":
            ignored.add(name)
            continue
        if pod["phase"] == "Pending":
            unready.add(name)
            continue
        sample = metrics.get(name)
        if sample is None:
            missing.add(name)
            continue
        if resource == "cpu":
            cond = pod["ready"]  # None when the pod has no Ready condition
            start = pod["start"]
            if cond is None or start is None:
                not_ready = True
            elif start + cpu_init_period > now:
                not_ready = cond == "False" or sample["ts"] < pod["ready_since"] + sample["win"]
            else:
                not_ready = cond == "False" and start + initial_readiness_delay > pod["ready_since"]
            if not_ready:
                unready.add(name)
                continue
        ready_count += 1
    return ready_count, unready, missing, ignored


def calculate_requests(pods, pod_requests):
    requests = {}
    for name in pods:
        if pod_requests.get(name) is None:
            raise MetricError("missing request for the resource in pod %s" % name)
        requests[name] = pod_requests[name]
    return requests


def get_resource_replicas(current, target_utilization, resource, tolerances, pods, samples,
                          pod_requests, ctl, now):
    metrics = {n: s for n, s in samples.items() if s is not None}
    if not metrics:
        raise MetricError("no metrics returned from resource metrics API")
    if not pods:
        raise MetricError("no pods returned by selector while calculating replica count")
    ready_count, unready, missing, ignored = group_pods(
        pods, metrics, resource, ctl.cpu_init_period, ctl.readiness_delay, now)
    values = {n: s["value"] for n, s in metrics.items() if n not in ignored and n not in unready}
    if not values:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    requests = calculate_requests(pods, pod_requests)
    usage_ratio, utilization, raw = get_resource_utilization_ratio(values, requests,
                                                                   target_utilization)
    scale_up_with_unready = len(unready) > 0 and usage_ratio > 1.0
    if not scale_up_with_unready and not missing:
        if tolerances.is_within(usage_ratio):
            return current, utilization, raw
        return go_int32(math.ceil(usage_ratio * ready_count)), utilization, raw
    if missing:
        if usage_ratio < 1.0:
            fallback = max(100, target_utilization)
            for n in missing:
                values[n] = go_div(requests[n] * fallback, 100)
        elif usage_ratio > 1.0:
            for n in missing:
                values[n] = 0
    if scale_up_with_unready:
        for n in unready:
            values[n] = 0
    new_ratio, _, _ = get_resource_utilization_ratio(values, requests, target_utilization)
    if tolerances.is_within(new_ratio) or (usage_ratio < 1.0 < new_ratio) or \
            (usage_ratio > 1.0 > new_ratio):
        return current, utilization, raw
    new_replicas = go_int32(math.ceil(new_ratio * len(values)))
    if (new_ratio < 1.0 and new_replicas > current) or (new_ratio > 1.0 and new_replicas < current):
        return current, utilization, raw
    return new_replicas, utilization, raw


def calc_plain_metric_replicas(current, target_usage, resource, tolerances, pods, samples, ctl,
                               now, api):
    metrics = {n: s for n, s in samples.items() if s is not None}
    if not metrics:
        raise MetricError("no metrics returned from %s metrics API" % api)
    if not pods:
        raise MetricError("no pods returned by selector while calculating replica count")
    ready_count, unready, missing, ignored = group_pods(
        pods, metrics, resource, ctl.cpu_init_period, ctl.readiness_delay, now)
    values = {n: s["value"] for n, s in metrics.items() if n not in ignored and n not in unready}
    if not values:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    usage_ratio, usage = get_metric_usage_ratio(values, target_usage)
    scale_up_with_unready = len(unready) > 0 and usage_ratio > 1.0
    if not scale_up_with_unready and not missing:
        if tolerances.is_within(usage_ratio):
            return current, usage
        return go_int32(math.ceil(usage_ratio * ready_count)), usage
    if missing:
        if usage_ratio < 1.0:
            for n in missing:
                values[n] = target_usage
        elif usage_ratio > 1.0:
            for n in missing:
                values[n] = 0
    if scale_up_with_unready:
        for n in unready:
            values[n] = 0
    new_ratio, _ = get_metric_usage_ratio(values, target_usage)
    if tolerances.is_within(new_ratio) or (usage_ratio < 1.0 < new_ratio) or \
            (usage_ratio > 1.0 > new_ratio):
        return current, usage
    new_replicas = go_int32(math.ceil(new_ratio * len(values)))
    if (new_ratio < 1.0 and new_replicas > current) or (new_ratio > 1.0 and new_replicas < current):
        return current, usage
    return new_replicas, usage


# ---- horizontal.go ----

class Controller:
    """One HPA's controller state: recommendations and scale events."""

    def __init__(self, tolerance=0.1, downscale_window=300000, cpu_init_period=300000,
                 readiness_delay=30000):
        self.tolerance = tolerance
        self.downscale_window = downscale_window
        self.cpu_init_period = cpu_init_period
        self.readiness_delay = readiness_delay
        self.recommendations = None  # nil until the first pass
        self.scale_up_events = []
        self.scale_down_events = []

    # tolerancesForHpa()
    def tolerances_for(self, hpa):
        t = Tolerances(self.tolerance, self.tolerance)
        b = hpa.get("behavior")
        if b is None:
            return t
        if b.get("scaleDown") and b["scaleDown"].get("tolerance") is not None:
            t.scale_down = b["scaleDown"]["tolerance"]
        if b.get("scaleUp") and b["scaleUp"].get("tolerance") is not None:
            t.scale_up = b["scaleUp"]["tolerance"]
        return t

    def compute_replicas_for_metric(self, hpa, spec, spec_replicas, pods, mobs, now):
        samples, fetch_err = mobs["samples"], mobs["fetch_err"]
        tol = self.tolerances_for(hpa)
        status = None
        if spec["type"] == "Pods":
            name = "pods metric %s" % spec["name"]
            reason = "FailedGetPodsMetric"
        else:
            res = spec["resource"]
            if spec["target"] == "AverageValue":
                name = "%s resource" % res
            elif spec["type"] == "ContainerResource":
                name = "%s container resource utilization (percentage of request)" % res
            else:
                name = "%s resource utilization (percentage of request)" % res
            reason = "FailedGetContainerResourceMetric" if spec["type"] == "ContainerResource" \
                else "FailedGetResourceMetric"
        try:
            if fetch_err:
                raise MetricError("unable to get metric: error %d" % fetch_err)
            if spec["type"] == "Pods":
                replicas, usage = calc_plain_metric_replicas(
                    spec_replicas, spec["value"], "", tol, pods, samples, self, now, "custom")
                status = {"averageValue": usage}
            elif spec["target"] == "AverageValue":
                replicas, usage = calc_plain_metric_replicas(
                    spec_replicas, spec["value"], spec["resource"], tol, pods, samples, self,
                    now, "resource")
                status = {"averageValue": usage}
            else:
                replicas, util, raw = get_resource_replicas(
                    spec_replicas, spec["utilization"], spec["resource"], tol, pods, samples,
                    mobs["requests"], self, now)
                status = {"averageUtilization": util, "averageValue": raw}
        except MetricError as e:
            return None, name, None, {"type": "ScalingActive", "status": False, "reason": reason,
                                      "message": str(e)}
        return replicas, name, status, None

    def compute_replicas_for_metrics(self, hpa, scale, pods, observation, now, conditions):
        spec_replicas = scale["spec"]
        replicas, metric = 0, ""
        statuses = []
        invalid, invalid_condition = 0, None
        for i, spec in enumerate(hpa["metrics"]):
            proposal, name, status, condition = self.compute_replicas_for_metric(
                hpa, spec, spec_replicas, pods, observation["metrics"][i], now)
            statuses.append(status)
            if condition is not None:
                if invalid == 0:
                    invalid_condition = condition
                invalid += 1
                continue
            if replicas == 0 or proposal > replicas:
                replicas, metric = proposal, name
        if invalid >= len(hpa["metrics"]) or (invalid > 0 and replicas < spec_replicas):
            conditions["ScalingActive"] = invalid_condition
            return -1, "", statuses, True
        conditions["ScalingActive"] = {"status": True, "reason": "ValidMetricFound"}
        return replicas, metric, statuses, invalid > 0

    def record_initial_recommendation(self, current, now):
        if self.recommendations is None:
            self.recommendations = [[current, now]]

    def stabilize_recommendation(self, pre, now):
        max_rec = pre
        found, old = False, 0
        cutoff = now - self.downscale_window
        for i, (rec, ts) in enumerate(self.recommendations):
            if ts < cutoff:
                found, old = True, i
            elif rec > max_rec:
                max_rec = rec
        if found:
            self.recommendations[old] = [pre, now]
        else:
            self.recommendations.append([pre, now])
        return max_rec

    def normalize_desired_replicas(self, hpa, current, pre, min_replicas, now, conditions):
        stabilized = self.stabilize_recommendation(pre, now)
        conditions["AbleToScale"] = {"status": True, "reason": "ScaleDownStabilized"
                                     if stabilized != pre else "ReadyForNewScale"}
        desired, reason = convert_desired_replicas_with_rules(current, stabilized, min_replicas,
                                                              hpa["max"])
        conditions["ScalingLimited"] = {"status": desired != stabilized, "reason": reason}
        return desired

    def stabilize_recommendation_with_behaviors(self, current, desired, up, down, now):
        found, old = False, 0
        up_rec = desired
        up_cutoff = now - up["stabilizationWindowSeconds"] * 1000
        down_rec = desired
        down_cutoff = now - down["stabilizationWindowSeconds"] * 1000
        for i, (rec, ts) in enumerate(self.recommendations):
            if ts > up_cutoff:
                up_rec = min(rec, up_rec)
            if ts > down_cutoff:
                down_rec = max(rec, down_rec)
            if ts < up_cutoff and ts < down_cutoff:
                found, old = True, i
        recommendation = current
        if recommendation < up_rec:
            recommendation = up_rec
        if recommendation > down_rec:
            recommendation = down_rec
        if found:
            self.recommendations[old] = [desired, now]
        else:
            self.recommendations.append([desired, now])
        reason = "ScaleUpStabilized" if desired >= current else "ScaleDownStabilized"
        return recommendation, reason

    def behaviors(self, hpa):
        b = hpa["behavior"]
        up = scale_up_rules(b.get("scaleUp"))
        down = scale_down_rules(b.get("scaleDown"))
        if down["stabilizationWindowSeconds"] is None:  # maybeInitScaleDownStabilizationWindow
            down["stabilizationWindowSeconds"] = int(self.downscale_window / 1000)
        return up, down

    def normalize_desired_replicas_with_behaviors(self, hpa, current, pre, min_replicas, now,
                                                  conditions):
        up, down = self.behaviors(hpa)
        stabilized, reason = self.stabilize_recommendation_with_behaviors(current, pre, up, down,
                                                                          now)
        conditions["AbleToScale"] = {"status": True, "reason": reason
                                     if stabilized != pre else "ReadyForNewScale"}
        desired, reason = self.convert_desired_replicas_with_behavior_rate(
            current, stabilized, min_replicas, hpa["max"], up, down, now)
        conditions["ScalingLimited"] = {"status": desired != stabilized, "reason": reason}
        return desired

    def convert_desired_replicas_with_behavior_rate(self, current, desired, min_replicas,
                                                    max_replicas, up, down, now):
        if desired > current:
            limit = calculate_scale_up_limit_with_scaling_rules(
                current, self.scale_up_events, self.scale_down_events, up, now)
            if limit < current:
                limit = current
            maximum = max_replicas
            if maximum > limit:
                maximum, reason = limit, "ScaleUpLimit"
            else:
                reason = "TooManyReplicas"
            if desired > maximum:
                return maximum, reason
        elif desired < current:
            limit = calculate_scale_down_limit_with_behaviors(
                current, self.scale_up_events, self.scale_down_events, down, now)
            if limit > current:
                limit = current
            minimum = min_replicas
            if minimum < limit:
                minimum, reason = limit, "ScaleDownLimit"
            else:
                reason = "TooFewReplicas"
            if desired < minimum:
                return minimum, reason
        return desired, "DesiredWithinRange"

    def store_scale_event(self, hpa, prev, new, now):
        if hpa.get("behavior") is None:
            return
        up, down = self.behaviors(hpa)
        if new > prev:
            events, rules, change = self.scale_up_events, up, new - prev
        else:
            events, rules, change = self.scale_down_events, down, prev - new
        longest = max([p["periodSeconds"] for p in rules["policies"]] + [0])
        cutoff = now - longest * 1000
        found, old = False, 0
        for i, e in enumerate(events):
            if e["ts"] < cutoff:
                e["outdated"] = True
            if e["outdated"]:
                found, old = True, i
        event = {"change": change, "ts": now, "outdated": False}
        if found:
            events[old] = event
        else:
            events.append(event)

    def reconcile(self, hpa, scale, pods, observation, now):
        """reconcileAutoscaler() after the scale was read; the write succeeds."""
        conditions = {"AbleToScale": {"status": True, "reason": "SucceededGetScale"}}
        current = scale["spec"]
        self.record_initial_recommendation(current, now)
        min_replicas = hpa["min"]
        desired = 0
        rescale = True
        if current == 0 and min_replicas != 0:
            desired, rescale = 0, False
            conditions["ScalingActive"] = {"status": False, "reason": "ScalingDisabled"}
        elif current > hpa["max"]:
            desired = hpa["max"]
        elif current < min_replicas:
            desired = min_replicas
        else:
            proposal, _, _, failed = self.compute_replicas_for_metrics(
                hpa, scale, pods, observation, now, conditions)
            if proposal == -1:
                return {"desired": -1, "rescale": False, "conditions": conditions,
                        "proposal": -1}
            if proposal > desired:
                desired = proposal
            if hpa.get("behavior") is None:
                desired = self.normalize_desired_replicas(hpa, current, desired, min_replicas,
                                                          now, conditions)
            else:
                desired = self.normalize_desired_replicas_with_behaviors(
                    hpa, current, desired, min_replicas, now, conditions)
            rescale = desired != current
        if rescale:
            conditions["AbleToScale"] = {"status": True, "reason": "SucceededRescale"}
            self.store_scale_event(hpa, current, desired, now)
        else:
            desired = current
        return {"desired": desired, "rescale": rescale, "conditions": conditions}


def get_replicas_change_per_period(period_seconds, events, now):
    cutoff = now - period_seconds * 1000
    return sum(e["change"] for e in events if e["ts"] > cutoff)


def calculate_scale_up_limit_with_scaling_rules(current, up_events, down_events, rules, now):
    if rules["selectPolicy"] == "Disabled":
        return current
    if rules["selectPolicy"] == "Min":
        result, select = INT32_MAX, min
    else:
        result, select = INT32_MIN, max
    for p in rules["policies"]:
        added = get_replicas_change_per_period(p["periodSeconds"], up_events, now)
        deleted = get_replicas_change_per_period(p["periodSeconds"], down_events, now)
        start = current - added + deleted
        if p["type"] == "Pods":
            proposed = start + p["value"]
        else:
            proposed = go_int32(math.ceil(float(start) * (1 + float(p["value"]) / 100)))
        result = select(result, proposed)
    return result


def calculate_scale_down_limit_with_behaviors(current, up_events, down_events, rules, now):
    if rules["selectPolicy"] == "Disabled":
        return current
    if rules["selectPolicy"] == "Min":
        result, select = INT32_MIN, max
    else:
        result, select = INT32_MAX, min
    for p in rules["policies"]:
        added = get_replicas_change_per_period(p["periodSeconds"], up_events, now)
        deleted = get_replicas_change_per_period(p["periodSeconds"], down_events, now)
        start = current - added + deleted
        if p["type"] == "Pods":
            proposed = start - p["value"]
        else:
            proposed = go_int32(float(start) * (1 - float(p["value"]) / 100))
        result = select(result, proposed)
    return result


def convert_desired_replicas_with_rules(current, desired, hpa_min, hpa_max):
    scale_up_limit = go_int32(max(SCALE_UP_LIMIT_FACTOR * float(current), SCALE_UP_LIMIT_MINIMUM))
    if hpa_max > scale_up_limit:
        maximum, reason = scale_up_limit, "ScaleUpLimit"
    else:
        maximum, reason = hpa_max, "TooManyReplicas"
    if desired < hpa_min:
        return hpa_min, "TooFewReplicas"
    if desired > maximum:
        return maximum, reason
    return desired, "DesiredWithinRange"
