from keras_sr.optimize.run import main

raise SystemExit(main())
