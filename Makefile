# hilserl - the commands a new user needs (see README.md).
#   make demo   install dependencies, build, run the main job
#   make test   install dependencies, build, run the unit tests
#   make bench  install dependencies, build, print benchmark numbers
BUILD_DIR ?= build
JOBS ?= 2
BUILD_TYPE ?= Release
OUT ?= out
DEMO_DEMOS ?= 20
DEMO_STEPS ?= 20000

.PHONY: all deps configure build test demo demo-pixels bench clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

# The main job: 20 scripted demonstrations, HIL-SERL training on PickCube from state
# observations (actor + learner threads, the scripted operator correcting the policy;
# 20k steps, ~16 min here), a 100-episode evaluation, and videos of the scripted expert
# and of the trained policy.
demo: build
	./$(BUILD_DIR)/hilserl record-demos --task pick_cube --operator scripted --episodes $(DEMO_DEMOS) \
	    --out $(OUT)/demo/demos.h5
	./$(BUILD_DIR)/hilserl train --task pick_cube --obs state --demos $(OUT)/demo/demos.h5 \
	    --operator scripted --steps $(DEMO_STEPS) --run-dir $(OUT)/demo/run --set train.eval_episodes=0
	./$(BUILD_DIR)/hilserl eval --checkpoint $(OUT)/demo/run --episodes 100 --json $(OUT)/demo/eval.json
	./$(BUILD_DIR)/hilserl eval --checkpoint $(OUT)/demo/run --episodes 2 --no-progress \
	    --video $(OUT)/demo/policy.mp4 > /dev/null
	./$(BUILD_DIR)/hilserl rollout --task pick_cube --policy scripted --obs pixels --episodes 2 \
	    --no-progress --video $(OUT)/demo/expert.mp4 > /dev/null
	@echo "videos: $(OUT)/demo/expert.mp4 (scripted expert), $(OUT)/demo/policy.mp4 (trained policy)"

# The same from pixels (two 128x128 cameras): self-supervised pretraining of the frozen
# ResNet-10 on the demo frames, then training on cached features (spatial_features 1,
# one update per env step: what fits this CPU). 12k steps reached 99% here in ~28 min of
# training; DEMO_PIXEL_STEPS=8000 is shorter.
DEMO_PIXEL_STEPS ?= 12000
demo-pixels: build
	./$(BUILD_DIR)/hilserl record-demos --task pick_cube --obs pixels --operator scripted --episodes $(DEMO_DEMOS) \
	    --out $(OUT)/demo_pixels/demos.h5
	./$(BUILD_DIR)/hilserl pretrain-encoder --frames $(OUT)/demo_pixels/demos.h5 --steps 300 \
	    --out $(OUT)/demo_pixels/encoder.safetensors
	./$(BUILD_DIR)/hilserl train --task pick_cube --obs pixels --demos $(OUT)/demo_pixels/demos.h5 \
	    --operator scripted --steps $(DEMO_PIXEL_STEPS) --run-dir $(OUT)/demo_pixels/run \
	    --set encoder.weights=$(OUT)/demo_pixels/encoder.safetensors --set encoder.spatial_features=1 \
	    --set train.learner_steps_per_env_step=0.5 --set train.eval_episodes=0
	./$(BUILD_DIR)/hilserl eval --checkpoint $(OUT)/demo_pixels/run --episodes 100 --json $(OUT)/demo_pixels/eval.json

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
