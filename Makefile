# hilserl - the commands a new user needs (see README.md).
#   make demo   install dependencies, build, run the main job
#   make test   install dependencies, build, run the unit tests
#   make bench  install dependencies, build, print benchmark numbers
BUILD_DIR ?= build
JOBS ?= 2
BUILD_TYPE ?= Release
OUT ?= out
DEMO_DEMOS ?= 20

.PHONY: all deps configure build test demo demo-state task-videos bench clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

# The main job: HIL-SERL on simulated PickCube from pixels, the whole system.
#   1. 20 demonstrations by the scripted operator (two 128x128 cameras, front + wrist);
#   2. self-supervised pretraining of the frozen ResNet-10 on those frames (no ImageNet
#      download here);
#   3. training: actor thread (env, frozen encoder, policy, the scripted operator taking
#      over when the policy strays) + learner thread (RLPD on cached features, demo and
#      RL buffers), 12k env steps;
#   4. a 100-episode evaluation of the final policy (success rate, cycle time) and videos.
# About 20 minutes after the build here; DEMO_STEPS=8000 is shorter.
DEMO_STEPS ?= 12000
DEMO_PRETRAIN_STEPS ?= 300
DEMO_DIR = $(OUT)/demo
demo: build
	./$(BUILD_DIR)/hilserl record-demos --task pick_cube --obs pixels --operator scripted --episodes $(DEMO_DEMOS) \
	    --out $(DEMO_DIR)/demos.h5
	./$(BUILD_DIR)/hilserl pretrain-encoder --frames $(DEMO_DIR)/demos.h5 --steps $(DEMO_PRETRAIN_STEPS) \
	    --out $(DEMO_DIR)/encoder.safetensors
	./$(BUILD_DIR)/hilserl train --task pick_cube --obs pixels --demos $(DEMO_DIR)/demos.h5 \
	    --operator scripted --steps $(DEMO_STEPS) --run-dir $(DEMO_DIR)/run \
	    --set encoder.weights=$(DEMO_DIR)/encoder.safetensors --set encoder.spatial_features=1 \
	    --set train.learner_steps_per_env_step=0.5 --set train.eval_episodes=0
	./$(BUILD_DIR)/hilserl eval --checkpoint $(DEMO_DIR)/run --episodes 100 --json $(DEMO_DIR)/eval.json
	./$(BUILD_DIR)/hilserl eval --checkpoint $(DEMO_DIR)/run --episodes 2 --no-progress \
	    --video $(DEMO_DIR)/policy.mp4 > /dev/null
	./$(BUILD_DIR)/hilserl rollout --task pick_cube --policy scripted --obs pixels --episodes 2 \
	    --no-progress --video $(DEMO_DIR)/expert.mp4 > /dev/null
	@echo "videos: $(DEMO_DIR)/expert.mp4 (scripted expert), $(DEMO_DIR)/policy.mp4 (trained policy)"

# The same from state observations (cube position observed; no cameras): 20k steps,
# about 16 minutes; 100% here.
DEMO_STATE_STEPS ?= 20000
demo-state: build
	./$(BUILD_DIR)/hilserl record-demos --task pick_cube --operator scripted --episodes $(DEMO_DEMOS) \
	    --out $(OUT)/demo_state/demos.h5
	./$(BUILD_DIR)/hilserl train --task pick_cube --obs state --demos $(OUT)/demo_state/demos.h5 \
	    --operator scripted --steps $(DEMO_STATE_STEPS) --run-dir $(OUT)/demo_state/run --set train.eval_episodes=0
	./$(BUILD_DIR)/hilserl eval --checkpoint $(OUT)/demo_state/run --episodes 100 --json $(OUT)/demo_state/eval.json

# One video per task of the scripted expert (two episodes, every camera of the task side
# by side): out/videos/<task>.mp4.
TASKS = pick_cube peg_insertion usb_grasp_insert handover dashboard pan_flip
task-videos: build
	mkdir -p $(OUT)/videos
	for t in $(TASKS); do ./$(BUILD_DIR)/hilserl rollout --task $$t --policy scripted --obs pixels --episodes 2 \
	    --no-progress --video $(OUT)/videos/$$t.mp4 > /dev/null || exit 1; done
	@echo "videos in $(OUT)/videos/"

bench: build
	mkdir -p $(OUT)
	./$(BUILD_DIR)/hilserl_bench --benchmark_out=$(OUT)/bench_env.json --benchmark_out_format=json \
	    --benchmark_counters_tabular=true
	./$(BUILD_DIR)/hilserl_learner_bench --benchmark_out=$(OUT)/bench_learner.json \
	    --benchmark_out_format=json --benchmark_counters_tabular=true
	./$(BUILD_DIR)/hilserl_transport_bench --benchmark_out=$(OUT)/bench_transport.json \
	    --benchmark_out_format=json --benchmark_counters_tabular=true

clean:
	rm -rf $(BUILD_DIR)
